import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConfig } from '../../src/tcp/config.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { TcpFlag } from '../../src/wire/tcp.ts';
import { forge } from './forge.ts';
import { A, B, type LinkOptions, Net, pattern, pump, sinkPair } from './net.ts';

function transfer(seed: number, size: number, link: LinkOptions, configB: Partial<TcpConfig> = {}) {
  const net = new Net({ seed, ab: link, ba: { delay: link.delay }, configB });
  const { client, sink, server } = sinkPair(net);
  let maxWnd = 0;
  const data = pattern(size, seed);
  client.onEstablished = () => pump(client, data);
  net.tap = (s) => {
    if (s.dir === 'ba' && !(s.p.flags & TcpFlag.SYN)) maxWnd = Math.max(maxWnd, s.p.window);
  };
  let done = false;
  client.onClose = () => {
    done = true;
  };
  const end = net.run(120 * SECOND, () => done && sink.ended);
  return { net, client, server: server()!, sink, data, end, maxWnd: () => maxWnd };
}

test('window scaling: a 10 MB transfer over 100 Mbit/s × 100 ms RTT uses a window far above 64 KiB', () => {
  const r = transfer(
    41,
    10_000_000,
    { delay: 50 * MS, rate: 12_500_000, queueBytes: 1_500_000 },
    {
      rcvBuf: 4_000_000,
      autotune: false,
    },
  );
  assert.deepEqual(Buffer.from(r.sink.bytes()), Buffer.from(r.data));
  assert.equal(r.client.info().sndWscale, 6, '4 MB needs shift 6');
  assert.ok(r.maxWnd() * 64 >= 4_000_000 - 64, `largest window ${r.maxWnd()} × 64`);
  // 10 MB at 12.5 MB/s is 0.8 s of serialization; slow start adds a few RTTs.
  assert.ok(r.end < 2.5 * SECOND, `finished at ${r.end / SECOND} s`);
});

test('receive-buffer auto-tuning grows the window toward 2 × bytes per RTT, capped by rcvBufMax', () => {
  const r = transfer(
    42,
    8_000_000,
    { delay: 25 * MS, rate: 12_500_000, queueBytes: 800_000 },
    {
      rcvBuf: 64 * 1024,
      rcvBufMax: 2 * 1024 * 1024,
    },
  );
  assert.deepEqual(Buffer.from(r.sink.bytes()), Buffer.from(r.data));
  const rcvBuf = r.server.info().rcvBuf;
  assert.ok(rcvBuf > 600_000, `grew to ${rcvBuf}`);
  assert.ok(rcvBuf <= 2 * 1024 * 1024);
  const fixed = transfer(
    42,
    8_000_000,
    { delay: 25 * MS, rate: 12_500_000, queueBytes: 800_000 },
    {
      rcvBuf: 64 * 1024,
      autotune: false,
    },
  );
  assert.ok(r.end < fixed.end * 0.6, `auto-tuned ${r.end} µs vs fixed 64 KiB ${fixed.end} µs`);
});

test('a hostile peer cannot make the receiver hold more out-of-order data than its buffer', () => {
  const net = new Net({ seed: 43, ab: { delay: 5 * MS }, configB: { rcvBuf: 65536, autotune: false } });
  const { client, sink, server } = sinkPair(net);
  let rcvNxt = 0;
  let sndNxt = 0;
  net.tap = (s) => {
    if (s.dir === 'ba') rcvNxt = s.p.ack;
    else sndNxt = s.p.ack;
  };
  net.run(50 * MS);
  const srv = server()!;
  // One-byte segments at every other offset of the window: each is stored with its overhead until the budget is spent.
  for (let i = 2; i < 65536; i += 2)
    net.inject(
      'b',
      A,
      B,
      forge(
        A,
        B,
        { srcPort: client.local.port, dstPort: 80, seq: rcvNxt + i, ack: sndNxt, flags: TcpFlag.ACK },
        new Uint8Array([1]),
      ),
    );
  const info = srv.info();
  assert.ok(info.oooMemory <= 65536, `out-of-order memory ${info.oooMemory}`);
  assert.ok(info.oooBytes > 0 && info.oooBytes < 1000);
  assert.ok(net.b.counters.TCPOFODrop > 30_000);
  // Far beyond the window: nothing stored, ACK replies rate-limited.
  const before = net.b.counters.OutSegs;
  for (let i = 0; i < 1000; i++)
    net.inject(
      'b',
      A,
      B,
      forge(
        A,
        B,
        {
          srcPort: client.local.port,
          dstPort: 80,
          seq: rcvNxt + 10_000_000 + i * 1000,
          ack: sndNxt,
          flags: TcpFlag.ACK,
        },
        new Uint8Array(100),
      ),
    );
  assert.equal(net.b.counters.DropOutOfWindow, 1000);
  assert.equal(srv.info().oooMemory, info.oooMemory);
  assert.ok(net.b.counters.OutSegs - before <= 1000);
  // The real sender's data still flows. Bytes already held win over later copies (RFC 9293 §3.10.7.4), so
  // the sender here sends the same bytes the flood put at those offsets.
  const data = pattern(200_000, 1);
  for (let i = 2; i < 65536; i += 2) data[i] = 1;
  pump(client, data, false);
  net.run(net.now + 5 * SECOND);
  assert.deepEqual(Buffer.from(sink.bytes()), Buffer.from(data));
});

test('a blocked writer is woken once a third of the send buffer is free, not on every ACK', () => {
  const net = new Net({ seed: 31, ab: { delay: 5 * MS, rate: 10_000_000 }, configA: { sndBuf: 300_000 } });
  let got = 0;
  net.b.listen(80, (c) => {
    c.onData = (d) => {
      got += d.length;
    };
  });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  const data = pattern(3_000_000, 3);
  let written = 0;
  const wakes: number[] = [];
  const fill = () => {
    written += client.write(data.subarray(written));
  };
  client.onEstablished = fill;
  client.onWritable = () => {
    // What is still queued when the writer is woken: at most two thirds of the buffer.
    wakes.push(client.info().sndBufUsed);
    fill();
  };
  net.run(20 * SECOND, () => got === data.length);
  assert.equal(got, data.length);
  // Each wake-up refills at least a third of the buffer: at most (3 MB − 300 kB) / 100 kB + 1 of them.
  assert.ok(wakes.length >= 2 && wakes.length <= 28, `${wakes.length} wake-ups for 3 MB through 300 kB`);
  for (const used of wakes) assert.ok(used <= 200_000, `woken with ${used} bytes still queued`);
});
