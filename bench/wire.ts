/**
 * Wire codec throughput on a realistic MPTCP data segment: timestamps plus a DSS with an 8-byte DATA_ACK
 * and an 8-byte DSN mapping (what Linux sends on data segments), 1400 bytes of payload.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { BenchResult } from '../src/cli/bench.ts';
import { DecodeError } from '../src/wire/errors.ts';
import { decodeTcp, encodeTcp, TcpFlag, type TcpHeader, verifyTcpChecksum } from '../src/wire/tcp.ts';

const src = new Uint8Array([10, 0, 1, 1]);
const dst = new Uint8Array([10, 1, 1, 1]);

const header: TcpHeader = {
  srcPort: 45001,
  dstPort: 33384,
  seq: 0x8c0a1b2c,
  ack: 0x1d897487,
  flags: TcpFlag.ACK | TcpFlag.PSH,
  reserved: 0,
  window: 502,
  checksum: 0,
  urgent: 0,
  options: [
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'timestamp', tsval: 3_500_123_456, tsecr: 2_100_987_654 },
    {
      kind: 'mptcp',
      mptcp: {
        subtype: 'DSS',
        dataFin: false,
        dataAck: 0x97cf0ada999aca00n,
        dataAck64: true,
        dsn: 0x0ecf1d221d897487n,
        dsn64: true,
        ssn: 1_048_577,
        dataLength: 1400,
      },
    },
  ],
};

const payload = new Uint8Array(1400).map((_, i) => i % 251);

/** Calls `fn` repeatedly for about `ms` milliseconds (after a warm-up) and returns calls per second. */
function rate(fn: () => unknown, ms = 1000): number {
  const until = (t: number) => {
    const end = performance.now() + t;
    let n = 0;
    let now = performance.now();
    // Check the clock every 1000 calls so that reading it costs little.
    while (now < end) {
      for (let k = 0; k < 1000; k++) fn();
      n += 1000;
      now = performance.now();
    }
    return n;
  };
  until(200);
  const t0 = performance.now();
  const n = until(ms);
  return (n * 1000) / (performance.now() - t0);
}

/** Runs the wire benchmarks, about one second each. */
export function benchWire(): BenchResult[] {
  const segment = encodeTcp(header, payload, { src, dst });
  const out = new Uint8Array(2048);
  let sink = 0;
  const results: BenchResult[] = [
    {
      name: 'decodeTcp (timestamps + DSS 8/8, 1400 B)',
      value: rate(() => {
        const s = decodeTcp(segment);
        if (!(s instanceof DecodeError)) sink += s.options.length;
      }),
      unit: 'segments/s',
    },
    {
      name: 'decodeTcp + verifyTcpChecksum',
      value: rate(() => {
        const s = decodeTcp(segment);
        if (!(s instanceof DecodeError) && verifyTcpChecksum(src, dst, segment)) sink += s.options.length;
      }),
      unit: 'segments/s',
    },
    {
      name: 'encodeTcp into a reused buffer, no checksum',
      value: rate(() => {
        sink += encodeTcp(header, payload, undefined, out, 0).length;
      }),
      unit: 'segments/s',
    },
    {
      name: 'encodeTcp into a reused buffer, with checksum',
      value: rate(() => {
        sink += encodeTcp(header, payload, { src, dst }, out, 0).length;
      }),
      unit: 'segments/s',
    },
  ];
  if (sink === 0) throw new Error('benchmark produced nothing');
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of benchWire())
    console.log(`${r.name.padEnd(48)} ${Math.round(r.value).toLocaleString('en-US').padStart(12)} ${r.unit}`);
}
