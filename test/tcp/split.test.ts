/**
 * Segments whose data a transport carries apart from the header (TCP-in-UDP, src/io/udp.ts): the stack checks
 * the checksum over both parts and keeps views of the handed-over bytes instead of copies, except where a view
 * would pin much more memory than it holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TcpFlag } from '../../src/wire/tcp.ts';
import { forge } from './forge.ts';
import { A, B, established, pattern } from './net.ts';

/** A data segment from A to B at `seq`, split into its header and its data in a buffer of its own. */
function split(ports: { client: number; server: number }, seq: number, ack: number, data: Uint8Array) {
  const seg = forge(
    A,
    B,
    { srcPort: ports.client, dstPort: ports.server, seq, ack, flags: TcpFlag.ACK },
    data,
  );
  const hl = (seg[12]! >>> 4) * 4;
  return { header: seg.subarray(0, hl), payload: seg.slice(hl) };
}

function setup(seed: number) {
  const e = established(seed);
  const got: Uint8Array[] = [];
  e.server.onData = (d) => {
    got.push(d);
  };
  e.server.resume();
  got.length = 0;
  const ports = { client: e.client.local.port, server: e.server.local.port };
  return { ...e, got, ports };
}

test('data carried apart is checked over header and data, and kept as views of the handed-over bytes', () => {
  const { net, got, ports, rcvNxtB, sndNxtB } = setup(21);
  const data = pattern(2000, 1);
  const s = split(ports, rcvNxtB, sndNxtB, data);
  // One byte of data changed after the checksum was made: refused.
  const bad = s.payload.slice();
  bad[1000]! ^= 1;
  net.inject('b', A, B, s.header, bad);
  assert.equal(net.b.counters.InCsumErrors, 1);
  assert.equal(got.length, 0);
  net.inject('b', A, B, s.header, s.payload);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], data);
  assert.equal(got[0]!.buffer, s.payload.buffer, 'delivered without a copy');
});

test('out-of-order data carried apart is held as views and delivered intact', () => {
  const { net, got, ports, rcvNxtB, sndNxtB } = setup(22);
  const data = pattern(3000, 2);
  const second = split(ports, rcvNxtB + 1500, sndNxtB, data.subarray(1500));
  const first = split(ports, rcvNxtB, sndNxtB, data.subarray(0, 1500));
  net.inject('b', A, B, second.header, second.payload);
  assert.equal(got.length, 0);
  net.inject('b', A, B, first.header, first.payload);
  assert.deepEqual(Buffer.concat(got), Buffer.from(data));
  assert.equal(got[0]!.buffer, first.payload.buffer);
  assert.equal(got[1]!.buffer, second.payload.buffer, 'the reassembly queue kept a view');
});

test('a segment that is mostly old data is copied, so a small kept part never pins a large buffer', () => {
  const { net, got, ports, rcvNxtB, sndNxtB } = setup(23);
  const data = pattern(4000, 3);
  const old = split(ports, rcvNxtB, sndNxtB, data.subarray(0, 3500));
  net.inject('b', A, B, old.header, old.payload);
  const overlap = split(ports, rcvNxtB, sndNxtB, data);
  net.inject('b', A, B, overlap.header, overlap.payload);
  assert.deepEqual(Buffer.concat(got), Buffer.from(data));
  assert.equal(got[1]!.length, 500);
  assert.notEqual(got[1]!.buffer, overlap.payload.buffer, '500 new bytes of a 4000-byte buffer: copied');
});
