import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTcp, encodeTcp, TcpFlag, type TcpHeader, verifyTcpChecksum } from '../../src/wire/tcp.ts';

const src = new Uint8Array([10, 0, 1, 1]);
const dst = new Uint8Array([10, 1, 1, 1]);

test('a SYN with MSS, SACK-permitted, timestamps and window scale round-trips byte for byte', () => {
  const h: TcpHeader = {
    srcPort: 40001,
    dstPort: 45001,
    seq: 0xdeadbeef,
    ack: 0,
    flags: TcpFlag.SYN,
    reserved: 0,
    window: 64240,
    checksum: 0,
    urgent: 0,
    options: [
      { kind: 'mss', mss: 1460 },
      { kind: 'sackPermitted' },
      { kind: 'timestamp', tsval: 123456, tsecr: 0 },
      { kind: 'nop' },
      { kind: 'wscale', shift: 7 },
    ],
  };
  const bytes = encodeTcp(h, new Uint8Array([1, 2, 3]), { src, dst });
  assert.equal(bytes.length, 40 + 3);
  assert.ok(verifyTcpChecksum(src, dst, bytes));
  const d = decodeTcp(bytes);
  assert.ok(!(d instanceof Error) && 'options' in d);
  assert.deepEqual(d.options, h.options);
  assert.equal(d.seq, 0xdeadbeef);
  assert.deepEqual([...d.payload], [1, 2, 3]);
  assert.deepEqual(encodeTcp(d, d.payload), bytes);
  bytes[41] ^= 1;
  assert.ok(!verifyTcpChecksum(src, dst, bytes));
});
