/**
 * The host's addresses as the real drivers see them: which local addresses exist (for the default address
 * list and to notice one disappearing), the MTU behind an address (for an MSS that avoids IP fragmentation)
 * and the source address the routing table picks for a destination.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { formatIp, parseIp } from '../wire/address.ts';
import { DecodeError } from '../wire/errors.ts';

export interface HostAddress {
  address: string;
  family: 4 | 6;
  /** Prefix length of the interface's network (Linux answers on a loopback network's every address). */
  prefix: number;
  interface: string;
  internal: boolean;
  /** IPv6 link-local (fe80::/10): usable only with a zone, so never chosen by default. */
  linkLocal: boolean;
}

/** Lists the host's addresses (canonical text). */
export type AddressSource = () => HostAddress[];

export const systemAddresses: AddressSource = () => {
  const out: HostAddress[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      const family = a.family === 'IPv6' ? 6 : 4;
      const address = canonicalAddress(a.address);
      if (address === null) continue;
      out.push({
        address,
        family,
        prefix: Number(a.cidr?.split('/')[1] ?? (family === 6 ? 128 : 32)),
        interface: name,
        internal: a.internal,
        linkLocal: family === 6 && /^fe[89ab]/i.test(address),
      });
    }
  }
  return out;
};

/** RFC 5952 / dotted-quad text of an address, or null when the text is not one (a zone id, a name). */
export function canonicalAddress(text: string): string | null {
  const b = parseIp(text);
  return b instanceof DecodeError ? null : formatIp(b);
}

export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/**
 * Whether `address` is one of the host's: listed, or inside the network of a loopback interface's address
 * (Linux answers on all of 127.0.0.0/8 though only 127.0.0.1 is listed).
 */
export function hasAddress(list: HostAddress[], address: string): boolean {
  if (list.some((a) => a.address === address)) return true;
  const v4 = parseIp(address);
  if (v4 instanceof DecodeError || v4.length !== 4) return false;
  const n = (v4[0]! << 24) | (v4[1]! << 16) | (v4[2]! << 8) | v4[3]!;
  return list.some((a) => {
    if (!a.internal || a.family !== 4) return false;
    const b = parseIp(a.address) as Uint8Array;
    const m = (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
    const mask = a.prefix === 0 ? 0 : ~0 << (32 - a.prefix);
    return (n & mask) === (m & mask);
  });
}

/** Addresses a multipath connection uses by default: every non-loopback, non-link-local one of a family. */
export function defaultLocalAddresses(list: HostAddress[], family: 4 | 6): string[] {
  return list.filter((a) => a.family === family && !a.internal && !a.linkLocal).map((a) => a.address);
}

/** The MTU of the interface holding `address` (Linux sysfs), or null when unknown. */
export function mtuOf(list: HostAddress[], address: string): number | null {
  const name = list.find((a) => a.address === address)?.interface ?? (isLoopback(address) ? 'lo' : null);
  if (name === null || !/^[\w.@:-]+$/.test(name)) return null;
  try {
    const v = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    return Number.isInteger(v) && v >= 576 ? v : null;
  } catch {
    return null;
  }
}

/** The source address the routing table picks toward `remote` (a connected UDP socket's local address). */
export function routeSource(remote: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(familyOf(remote) === 6 ? 'udp6' : 'udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.connect(9, remote, () => {
      const a = s.address().address;
      s.close();
      resolve(canonicalAddress(a) ?? a);
    });
  });
}
