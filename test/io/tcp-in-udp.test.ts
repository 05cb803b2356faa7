import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  HeaderBuffer,
  payloadData,
  payloadHeader,
  payloadProblem,
  segmentToPayload,
} from '../../src/io/tcp-in-udp.ts';
import { Rng } from '../../src/util/rng.ts';
import { SECOND } from '../../src/util/time.ts';
import { ipFromText } from '../../src/wire/address.ts';
import { decodeTcp, encodeTcp, type TcpOption, verifyTcpChecksum } from '../../src/wire/tcp.ts';
import { A, B, established, pattern } from '../tcp/net.ts';

const SRC = ipFromText('10.0.1.1');
const DST = ipFromText('10.1.1.1');

function randomSegment(rng: Rng): Uint8Array {
  const options: TcpOption[] = [];
  if (rng.int(2)) options.push({ kind: 'timestamp', tsval: rng.u32(), tsecr: rng.u32() });
  if (rng.int(2)) options.push({ kind: 'mss', mss: 536 + rng.int(9000) });
  const payload = new Uint8Array(rng.int(1500));
  for (let i = 0; i < payload.length; i++) payload[i] = rng.int(256);
  return encodeTcp(
    {
      srcPort: 1 + rng.int(65535),
      dstPort: 1 + rng.int(65535),
      seq: rng.u32(),
      ack: rng.u32(),
      reserved: 0,
      flags: rng.int(256) & ~0x20,
      window: rng.int(65536),
      checksum: 0,
      urgent: 0,
      options,
    },
    payload,
    { src: SRC, dst: DST },
  );
}

test('the UDP payload has the tcp-in-udp layout: flags/window, seq, ack, then options and data', () => {
  const rng = new Rng(7);
  for (let k = 0; k < 200; k++) {
    const seg = randomSegment(rng);
    const original = seg.slice();
    const p = segmentToPayload(seg);
    assert.equal(p.length, original.length - 8);
    assert.deepEqual([...p.subarray(0, 4)], [...original.subarray(12, 16)], 'doff/flags/window first');
    assert.deepEqual([...p.subarray(4, 8)], [...original.subarray(4, 8)], 'then the sequence number');
    assert.deepEqual([...p.subarray(8, 12)], [...original.subarray(8, 12)], 'then the acknowledgment');
    assert.deepEqual([...p.subarray(12)], [...original.subarray(20)], 'then options and data');
    assert.equal(payloadProblem(p), null);
  }
});

test('a payload turns back into the same TCP header and data, which a checksum over both accepts', () => {
  const rng = new Rng(8);
  // One buffer for every header, as the UDP transport does: each is checked before the next is written.
  const scratch = new HeaderBuffer();
  for (let k = 0; k < 200; k++) {
    const seg = randomSegment(rng);
    const original = seg.slice();
    const srcPort = (original[0]! << 8) | original[1]!;
    const dstPort = (original[2]! << 8) | original[3]!;
    const payload = segmentToPayload(seg).slice();
    const header = payloadHeader(payload, srcPort, dstPort, scratch);
    const data = payloadData(payload);
    const hl = (original[12]! >>> 4) * 4;
    assert.equal(header.length, hl);
    // UDP's checksum covered the bytes: the checksum field stays 0, the rest is the original header.
    assert.deepEqual([...header.subarray(16, 18)], [0, 0]);
    assert.deepEqual([...header.subarray(0, 16)], [...original.subarray(0, 16)]);
    assert.deepEqual([...header.subarray(18)], [...original.subarray(18, hl)]);
    assert.deepEqual([...data], [...original.subarray(hl)]);
    assert.equal(data.buffer, payload.buffer, 'the data is a view of the datagram, not a copy');
    const back = new Uint8Array(original.length);
    back.set(header);
    back.set(data, hl);
    back[16] = original[16]!;
    back[17] = original[17]!;
    assert.deepEqual(back, original);
    assert.ok(verifyTcpChecksum(SRC, DST, back));
    assert.ok(!(decodeTcp(back) instanceof Error));
  }
});

test('datagrams that are not TCP-in-UDP segments are named, never thrown on', () => {
  assert.match(payloadProblem(new Uint8Array(11)) ?? '', /shorter/);
  const p = new Uint8Array(12);
  p[0] = 4 << 4;
  assert.match(payloadProblem(p) ?? '', /below 5/);
  p[0] = 15 << 4;
  assert.match(payloadProblem(p) ?? '', /past the datagram/);
  p[0] = 5 << 4;
  p[1] = 0x20;
  assert.match(payloadProblem(p) ?? '', /URG/);
  p[1] = 0x10;
  assert.equal(payloadProblem(p), null);
});

test('mutated datagrams of a live connection, fed to the stack as the UDP transport does, never throw', () => {
  // A real exchange: every segment B receives, kept as the datagram it would be over UDP.
  const { net, client } = established(61);
  const datagrams: Uint8Array[] = [];
  net.tap = (s) => {
    if (s.dir === 'ab') datagrams.push(Buffer.from(segmentToPayload(s.bytes.slice())));
  };
  client.write(pattern(60_000, 1));
  net.run(net.now + SECOND);
  assert.ok(datagrams.length > 20);
  const rng = new Rng(62);
  const scratch = new HeaderBuffer();
  let fed = 0;
  for (let k = 0; k < 5000; k++) {
    const d = Uint8Array.from(datagrams[rng.int(datagrams.length)]!);
    const cut = rng.int(3) === 0 ? rng.int(d.length + 1) : d.length;
    const m = d.subarray(0, cut);
    for (let f = rng.int(4); f >= 0 && m.length > 0; f--) m[rng.int(m.length)] ^= 1 << rng.int(8);
    if (payloadProblem(m) !== null) continue;
    fed++;
    net.b.receive(net.now, A, B, payloadHeader(m, client.local.port, 80, scratch), true, payloadData(m));
    net.flush();
  }
  assert.ok(fed > 1000, `${fed} mutated datagrams reached the stack`);
});
