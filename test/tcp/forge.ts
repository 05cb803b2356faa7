/** Forged segments for the RST/SYN/flood tests: valid checksums, chosen fields. */
import { ipFromText } from '../../src/wire/address.ts';
import { encodeTcp, type TcpOption } from '../../src/wire/tcp.ts';

export function forge(
  src: string,
  dst: string,
  f: {
    srcPort: number;
    dstPort: number;
    seq: number;
    ack?: number;
    flags: number;
    window?: number;
    options?: TcpOption[];
  },
  payload?: Uint8Array,
): Uint8Array {
  return encodeTcp(
    {
      srcPort: f.srcPort,
      dstPort: f.dstPort,
      seq: f.seq >>> 0,
      ack: (f.ack ?? 0) >>> 0,
      flags: f.flags,
      reserved: 0,
      window: f.window ?? 65535,
      checksum: 0,
      urgent: 0,
      options: f.options ?? [],
    },
    payload,
    { src: ipFromText(src), dst: ipFromText(dst) },
  );
}
