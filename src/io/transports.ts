/**
 * Transports by name, so the socket API takes `transport: 'udp'` today and `'tun'` once a TUN transport
 * registers itself here. Each factory gets the options object given for its kind.
 */
import { type Transport, TransportError } from './transport.ts';
import { UdpTransport, type UdpTransportOptions } from './udp.ts';

export type TransportFactory = (options: unknown) => Transport;

const factories = new Map<string, TransportFactory>([
  ['udp', (o) => new UdpTransport((o ?? {}) as UdpTransportOptions)],
]);

/** Adds (or replaces) a transport kind. */
export function registerTransport(kind: string, factory: TransportFactory): void {
  factories.set(kind, factory);
}

export function transportKinds(): string[] {
  return [...factories.keys()];
}

/** A new transport of `kind`; throws a TransportError naming the known kinds for an unknown one. */
export function createTransport(kind: string, options?: unknown): Transport {
  const f = factories.get(kind);
  if (!f)
    throw new TransportError(
      `transport '${kind}' is not available (known: ${transportKinds().join(', ')}); use 'udp'`,
      'EINVAL',
    );
  return f(options);
}
