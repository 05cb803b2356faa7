/**
 * Transports by name, so the socket API takes `transport: 'udp'` or `'tun'`. Each factory gets the options
 * object given for its kind and the local addresses the connection or server uses.
 */
import { type Transport, TransportError } from './transport.ts';
import { TunTransport, type TunTransportOptions } from './tun-transport.ts';
import { UdpTransport, type UdpTransportOptions } from './udp.ts';

export type TransportFactory = (options: unknown, addresses: readonly string[]) => Transport;

const factories = new Map<string, TransportFactory>([
  ['udp', (o) => new UdpTransport((o ?? {}) as UdpTransportOptions)],
  ['tun', (o, addresses) => new TunTransport(o as TunTransportOptions, addresses)],
]);

/** Adds (or replaces) a transport kind. */
export function registerTransport(kind: string, factory: TransportFactory): void {
  factories.set(kind, factory);
}

export function transportKinds(): string[] {
  return [...factories.keys()];
}

/** A new transport of `kind`; throws a TransportError naming the known kinds for an unknown one. */
export function createTransport(kind: string, options: unknown, addresses: readonly string[]): Transport {
  const f = factories.get(kind);
  if (!f)
    throw new TransportError(
      `transport '${kind}' is not available (known: ${transportKinds().join(', ')}); use 'udp'`,
      'EINVAL',
    );
  return f(options, addresses);
}
