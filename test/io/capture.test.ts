/** The driver's capture (src/io/capture.ts): raw IP packets around the segments, checksums filled for UDP. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SegmentCapture } from '../../src/io/capture.ts';
import { Rng } from '../../src/util/rng.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeIp } from '../../src/wire/ip.ts';
import { TcpFlag, verifyTcpChecksum } from '../../src/wire/tcp.ts';
import { forge } from '../tcp/forge.ts';

/** A segment as TCP-in-UDP delivers it: a TCP header without a checksum. */
function uncheckedSegment(payload: Uint8Array): Uint8Array {
  const seg = forge(
    '10.0.0.1',
    '10.0.0.2',
    { srcPort: 45000, dstPort: 40000, seq: 7, ack: 9, flags: TcpFlag.ACK },
    payload,
  );
  seg[16] = 0;
  seg[17] = 0;
  return seg;
}

/** Records `seg`; with `apart`, its data goes in separately, as from a transport that gathers (OutSegment.payload). */
function captured(fillChecksum: boolean, src: string, dst: string, seg: Uint8Array, apart = false) {
  const records: { timeUs: number; packet: Uint8Array }[] = [];
  const c = new SegmentCapture({ add: (timeUs, packet) => records.push({ timeUs, packet }) }, fillChecksum);
  const hl = (seg[12]! >>> 4) * 4;
  if (apart) c.record(1234, src, dst, seg.subarray(0, hl), 0x28, seg.subarray(hl));
  else c.record(1234, src, dst, seg, 0x28);
  return { c, records };
}

test('over UDP the capture frames each segment in IPv4 or IPv6 and fills in the TCP checksum', () => {
  const rng = new Rng(5);
  for (const [src, dst] of [
    ['10.0.1.1', '10.1.1.1'],
    ['2001:db8::1', '2001:db8::2'],
  ] as const) {
    for (const [len, apart] of [
      [0, false],
      [1, false],
      [1399, false],
      [1400, false],
      [1, true],
      [1400, true],
    ] as const) {
      const seg = uncheckedSegment(rng.fill(new Uint8Array(len)));
      const { records } = captured(true, src, dst, seg, apart);
      assert.equal(records.length, 1);
      assert.equal(records[0]!.timeUs, 1234);
      const ip = decodeIp(records[0]!.packet);
      assert.ok(!(ip instanceof DecodeError), String(ip));
      assert.ok(verifyTcpChecksum(ip.src, ip.dst, ip.payload), `${src} ${len} bytes`);
      // Everything but the checksum is the segment as the stack saw it.
      const copy = ip.payload.slice();
      copy[16] = 0;
      copy[17] = 0;
      assert.deepEqual(copy, seg);
    }
  }
  // The capture works on a copy: the stack's segment keeps its bytes.
  const seg = uncheckedSegment(new Uint8Array(10));
  captured(true, '10.0.1.1', '10.1.1.1', seg);
  assert.equal(seg[16], 0);
  assert.equal(seg[17], 0);
});

test('over TUN the segment is recorded as it is (a bad checksum stays bad); unframeable ones are counted', () => {
  const seg = uncheckedSegment(new Uint8Array(100));
  const { records } = captured(false, '10.0.1.1', '10.1.1.1', seg);
  const ip = decodeIp(records[0]!.packet);
  assert.ok(!(ip instanceof DecodeError));
  assert.deepEqual(ip.payload, seg);
  assert.equal(verifyTcpChecksum(ip.src, ip.dst, ip.payload), false);
  for (const [src, dst, s] of [
    ['10.0.1.1', '2001:db8::2', seg],
    ['10.0.1.1', 'not-an-address', seg],
    ['10.0.1.1', '10.1.1.1', new Uint8Array(12)],
  ] as const) {
    const r = captured(true, src, dst, s);
    assert.equal(r.records.length, 0);
    assert.equal(r.c.unframed, 1);
  }
});
