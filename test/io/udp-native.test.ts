import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import {
  forEachDatagram,
  type UdpAddon,
  UdpBatch,
  type UdpHandle,
  udpAddon,
  udpAddonUnavailable,
} from '../../src/io/udp-native.ts';
import { formatIpv4 } from '../../src/wire/address.ts';

const addon = udpAddon();
const skip = addon === null ? `the UDP addon is unavailable: ${udpAddonUnavailable()}` : false;
const LOOPBACK = new Uint8Array([127, 0, 0, 1]);

interface Got {
  data: Buffer;
  port: number;
  source: string;
  /** A view of the lent read slots (the addon's buffer, not a copy). */
  lent: boolean;
}

/** An addon socket on 127.0.0.1 that collects what it reads, one entry per datagram. */
function receiver(a: UdpAddon): { handle: UdpHandle; port: number; got: Got[]; batches: number[] } {
  const r = a.open(LOOPBACK, 0, 1 << 22, 1 << 22);
  assert.ok(!('errno' in r), 'open');
  const got: Got[] = [];
  const batches: number[] = [];
  a.start(
    r.handle,
    (slots, meta, count) => {
      batches.push(count);
      const bytes = new Uint8Array(meta.buffer, meta.byteOffset, meta.byteLength);
      forEachDatagram(slots, meta, count, (d, port, o) =>
        got.push({
          // A copy: the slots are read into again after this call.
          data: Buffer.from(d),
          port,
          source: formatIpv4(bytes, o),
          lent: d.buffer === slots.buffer,
        }),
      );
    },
    () => {},
  );
  return { handle: r.handle, port: r.port, got, batches };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Datagram i: `len` bytes of (i * 7 + j) & 0xff, so a cut in the wrong place shows. */
const datagram = (i: number, len: number) =>
  Buffer.from(Array.from({ length: len }, (_, j) => (i * 7 + j) & 0xff));

test('a batch of equal datagrams leaves as GSO and arrives cut at the right places, in order', {
  skip,
}, async () => {
  const a = addon!;
  const rx = receiver(a);
  const tx = a.open(LOOPBACK, 0, 1 << 22, 1 << 22);
  assert.ok(!('errno' in tx));
  const batch = new UdpBatch(a, tx.handle, (e) => assert.fail(`send failed: errno ${e}`));
  // 100 datagrams of 1460 bytes and a short last one, each split into a "header" and "data" part.
  const sent: Buffer[] = [];
  for (let i = 0; i < 101; i++) {
    const d = datagram(i, i === 100 ? 333 : 1460);
    sent.push(d);
    batch.add(d.subarray(0, 40), d.subarray(40), LOOPBACK, rx.port);
  }
  batch.flush();
  await until(() => rx.got.length === 101);
  rx.got.forEach((g, i) => {
    assert.deepEqual(g.data, sent[i], `datagram ${i}`);
    assert.equal(g.port, tx.port);
    assert.equal(g.source, '127.0.0.1');
  });
  const st = a.stats(tx.handle);
  assert.equal(st.datagramsOut, 101);
  // 64 datagrams per GSO message at most, and at most 65 000 bytes: 44 + 44 + 13, in one sendmmsg.
  assert.equal(st.gsoMessages, 3);
  assert.equal(st.sendCalls, 1);
  // The receiver read them coalesced (UDP GRO: a GSO message stays whole on loopback) and cut them apart.
  assert.ok(a.stats(rx.handle).groReads >= 1);
  assert.ok(rx.batches.length < 101);
  a.close(tx.handle);
  a.close(rx.handle);
});

test('mixed sizes and two destinations in one batch: each gets its own, in order', { skip }, async () => {
  const a = addon!;
  const rx1 = receiver(a);
  const rx2 = receiver(a);
  const tx = a.open(LOOPBACK, 0, 1 << 22, 1 << 22);
  assert.ok(!('errno' in tx));
  const batch = new UdpBatch(a, tx.handle, (e) => assert.fail(`send failed: errno ${e}`));
  const want1: Buffer[] = [];
  const want2: Buffer[] = [];
  const sizes = [1460, 1460, 20, 1460, 65_000, 1460, 1460, 0, 900, 900, 900];
  sizes.forEach((len, i) => {
    const d = datagram(i, len);
    const to = i % 3 === 0 ? rx2 : rx1;
    (to === rx1 ? want1 : want2).push(d);
    batch.add(d, undefined, LOOPBACK, to.port);
  });
  batch.flush();
  await until(() => rx1.got.length === want1.length && rx2.got.length === want2.length);
  assert.deepEqual(
    rx1.got.map((g) => g.data),
    want1,
  );
  // Every datagram, the 65 000-byte one too, is a view of the lent read slots: no buffer per message.
  assert.ok(rx1.got.every((g) => g.lent) && rx2.got.every((g) => g.lent));
  assert.deepEqual(
    rx2.got.map((g) => g.data),
    want2,
  );
  for (const h of [tx.handle, rx1.handle, rx2.handle]) a.close(h);
});

test('a connected socket sends to its peer; a node:dgram peer reads every datagram', { skip }, async () => {
  const a = addon!;
  const peer = dgram.createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  const got: Buffer[] = [];
  peer.on('message', (m) => got.push(m));
  const tx = a.open(LOOPBACK, 0, 0, 0);
  assert.ok(!('errno' in tx));
  assert.equal(a.connect(tx.handle, LOOPBACK, peer.address().port), 0);
  const batch = new UdpBatch(a, tx.handle, (e) => assert.fail(`send failed: errno ${e}`));
  for (let i = 0; i < 50; i++) batch.add(datagram(i, 1200), undefined, null, 0);
  batch.flush();
  await until(() => got.length === 50);
  assert.deepEqual(
    got,
    Array.from({ length: 50 }, (_, i) => datagram(i, 1200)),
  );
  a.close(tx.handle);
  peer.close();
});

test('send errors are reported and do not stop the rest of the batch; bind errors come back as errno', {
  skip,
}, async () => {
  const a = addon!;
  const rx = receiver(a);
  const tx = a.open(LOOPBACK, 0, 0, 0);
  assert.ok(!('errno' in tx));
  const errors: number[] = [];
  const batch = new UdpBatch(a, tx.handle, (e) => errors.push(e));
  batch.add(datagram(1, 100), undefined, LOOPBACK, rx.port);
  // Too big for one datagram (EMSGSIZE): it cannot leave, the one after it does.
  batch.add(datagram(2, 70_000), undefined, LOOPBACK, rx.port);
  batch.add(datagram(4, 100), undefined, LOOPBACK, rx.port);
  batch.flush();
  await until(() => rx.got.length === 2);
  assert.deepEqual(
    rx.got.map((g) => g.data),
    [datagram(1, 100), datagram(4, 100)],
  );
  assert.deepEqual(errors, [90], 'EMSGSIZE, reported once per flush');
  assert.equal(a.stats(tx.handle).sendErrors, 1);
  // The port is taken now: binding it again fails with EADDRINUSE, as a value, not a throw.
  const again = a.open(LOOPBACK, rx.port, 0, 0);
  assert.ok('errno' in again);
  for (const h of [tx.handle, rx.handle]) a.close(h);
});

test('an ICMP error on a connected socket is reported and the socket keeps reading', { skip }, async () => {
  const a = addon!;
  // The peer's port closes: a send draws ICMP port unreachable, which libuv's poll sees as POLLERR.
  const peer = dgram.createSocket('udp4');
  peer.bind(0, '127.0.0.1');
  await once(peer, 'listening');
  const peerPort = peer.address().port;
  peer.close();
  const r = a.open(LOOPBACK, 0, 0, 0);
  assert.ok(!('errno' in r));
  const got: Buffer[] = [];
  const errors: number[] = [];
  a.start(
    r.handle,
    (slots, meta, count) => forEachDatagram(slots, meta, count, (d) => got.push(Buffer.from(d))),
    (e) => errors.push(e),
  );
  assert.equal(a.connect(r.handle, LOOPBACK, peerPort), 0);
  const batch = new UdpBatch(a, r.handle, () => {});
  batch.add(datagram(1, 10), undefined, null, 0);
  batch.flush();
  await until(() => errors.length > 0);
  assert.deepEqual(errors, [111], 'ECONNREFUSED');
  // The peer comes back on its port: what it sends still arrives.
  const back = dgram.createSocket('udp4');
  back.bind(peerPort, '127.0.0.1');
  await once(back, 'listening');
  back.send(datagram(2, 20), r.port, '127.0.0.1');
  await until(() => got.length === 1);
  assert.deepEqual(got[0], datagram(2, 20));
  a.close(r.handle);
  back.close();
});
