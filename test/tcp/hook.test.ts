import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpConnection } from '../../src/tcp/connection.ts';
import type { IncomingSegmentInfo, OutgoingSegmentInfo, SubflowHook } from '../../src/tcp/hook.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import type { TcpOption } from '../../src/wire/tcp.ts';
import { A, B, Net, pattern } from './net.ts';

const MAP_KIND = 254;

/** A stand-in for MPTCP: pulls 1000-byte chunks, maps each to a "dsn", and puts the mapping in a 20-byte option. */
class SenderHook implements SubflowHook {
  readonly calls: { kind: string; ssn: number; len: number; retransmission: boolean; option: string }[] = [];
  /** ssn of each pulled chunk -> [dsn, length]. */
  readonly maps = new Map<number, [number, number]>();
  /** Each pull: the bytes asked for and whether the congestion window was short of a segment. */
  readonly pulls: { maxBytes: number; cwndShort: boolean }[] = [];
  private next = 0;
  /** `whole`: never cut a chunk to a short window, as MPTCP holds its packets. */
  constructor(
    readonly source: Uint8Array,
    readonly whole = false,
  ) {}

  options(_c: TcpConnection, seg: OutgoingSegmentInfo, space: number): TcpOption[] | null {
    let opt: TcpOption | null = null;
    if (seg.kind === 'syn') opt = { kind: 'unknown', type: MAP_KIND, data: new Uint8Array(2) };
    if (seg.kind === 'data') {
      // The chunk holding seg.ssn: segments never span chunks.
      let found: [number, number, number] | null = null;
      for (const [ssn, [dsn, len]] of this.maps)
        if (seg.ssn >= ssn && seg.ssn < ssn + len) found = [ssn, dsn, len];
      assert.ok(found, `a mapping covers ssn ${seg.ssn}`);
      const data = new Uint8Array(18);
      new DataView(data.buffer).setUint32(0, found[1]);
      new DataView(data.buffer).setUint32(4, found[0]);
      new DataView(data.buffer).setUint16(8, found[2]);
      opt = { kind: 'unknown', type: MAP_KIND, data };
    }
    if (seg.kind === 'ack') opt = { kind: 'unknown', type: MAP_KIND, data: new Uint8Array(6) };
    assert.ok(space >= 20);
    this.calls.push({
      kind: seg.kind,
      ssn: seg.ssn,
      len: seg.len,
      retransmission: seg.retransmission,
      option: opt && opt.kind === 'unknown' ? Buffer.from(opt.data).toString('hex') : '',
    });
    return opt ? [opt] : null;
  }
  incoming(): boolean {
    return true;
  }
  pull(_c: TcpConnection, ssn: number, maxBytes: number, cwndShort: boolean): Uint8Array | null {
    if (this.next >= this.source.length) return null;
    this.pulls.push({ maxBytes, cwndShort });
    const chunk = Math.min(1000, this.source.length - this.next);
    if (this.whole && cwndShort && chunk > maxBytes) return null;
    const n = Math.min(maxBytes, chunk);
    this.maps.set(ssn, [this.next, n]);
    const out = this.source.subarray(this.next, this.next + n);
    this.next += n;
    return out;
  }
}

class ReceiverHook implements SubflowHook {
  readonly data = new Map<number, Uint8Array>();
  readonly seenMaps: string[] = [];
  dataBytes = 0;
  options(): null {
    return null;
  }
  incoming(_c: TcpConnection, seg: IncomingSegmentInfo, options: readonly TcpOption[]): boolean {
    for (const o of options)
      if (o.kind === 'unknown' && o.type === MAP_KIND && seg.len > 0)
        this.seenMaps.push(Buffer.from(o.data).toString('hex'));
    return true;
  }
  onData(_c: TcpConnection, ssn: number, bytes: Uint8Array): void {
    this.data.set(ssn, bytes);
    this.dataBytes += bytes.length;
  }
}

test('the subflow hook: options on every segment, payload shrunk to fit, pull-driven data, same mapping on retransmission', () => {
  const net = new Net({ seed: 51, ab: { delay: 10 * MS, rate: 5_000_000 } });
  const source = pattern(100_000, 3);
  const rx = new ReceiverHook();
  let synOptions: readonly TcpOption[] = [];
  net.b.listen(80, () => {}, {
    hook: (syn) => {
      synOptions = syn.options;
      return rx;
    },
  });
  const tx = new SenderHook(source);
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80, hook: tx });
  const payloads: number[] = [];
  let n = 0;
  let droppedSsn = -1;
  net.drop = (s) => {
    if (s.dir === 'ab' && s.p.len > 0) {
      payloads.push(s.p.len);
      if (++n === 5) {
        droppedSsn = n;
        return true;
      }
    }
    return false;
  };
  net.run(50 * MS);
  client.wake();
  net.run(5 * SECOND);
  assert.ok(
    synOptions.some((o) => o.kind === 'unknown' && o.type === MAP_KIND),
    'the listener hook saw the SYN option',
  );
  // Every data byte arrived in subflow order with its ssn.
  assert.equal(rx.dataBytes, source.length);
  let ssn = 1;
  const got = new Uint8Array(source.length);
  for (const [k, v] of [...rx.data].sort((x, y) => x[0] - y[0])) {
    assert.equal(k, ssn);
    got.set(v, ssn - 1);
    ssn += v.length;
  }
  assert.ok(Buffer.from(got).equals(Buffer.from(source)));
  // 20 option bytes + 12 timestamp bytes: at most 1428 payload bytes; chunks of 1000 are never merged.
  assert.ok(payloads.every((p) => p <= 1000));
  assert.ok(droppedSsn > 0);
  const retx = tx.calls.filter((c) => c.retransmission && c.kind === 'data');
  assert.equal(retx.length, 1);
  const first = tx.calls.find((c) => !c.retransmission && c.kind === 'data' && c.ssn === retx[0]!.ssn)!;
  assert.equal(retx[0]!.option, first.option, 'the retransmission carries the same mapping');
  assert.ok(tx.calls.some((c) => c.kind === 'syn'));
  assert.ok(tx.calls.some((c) => c.kind === 'ack3'));
  assert.equal(
    rx.seenMaps.length,
    payloads.length - 1,
    'the receiver hook saw the mapping on every data segment it got',
  );
});

test('a window short of a segment is flagged to the hook, which may wait for the next ACK instead of cutting a chunk', () => {
  const run = (whole: boolean) => {
    const net = new Net({ seed: 53, ab: { delay: 10 * MS, rate: 5_000_000 } });
    const source = pattern(300_000, 7);
    const rx = new ReceiverHook();
    net.b.listen(80, () => {}, { hook: () => rx });
    const tx = new SenderHook(source, whole);
    const client = net.a.connect(0, { local: A, remote: B, remotePort: 80, hook: tx });
    const payloads: number[] = [];
    let n = 0;
    // Two losses, so the window shrinks under data in flight: recovery leaves room below a segment.
    net.drop = (s) => {
      if (s.dir !== 'ab' || s.p.len === 0) return false;
      payloads.push(s.p.len);
      n++;
      return n === 40 || n === 120;
    };
    net.run(50 * MS);
    client.wake();
    net.run(10 * SECOND);
    return { tx, rx, payloads, source };
  };
  const mss = 1428;
  const cut = run(false);
  const short = cut.tx.pulls.filter((p) => p.cwndShort);
  assert.ok(short.length > 0, 'the window was short of a segment at some pull');
  assert.ok(short.every((p) => p.maxBytes < mss));
  assert.ok(
    cut.payloads.some((len) => len < 1000),
    'a hook that takes what it is given cuts chunks to the window',
  );
  const held = run(true);
  assert.equal(held.rx.dataBytes, held.source.length, 'waiting for ACKs stalls nothing');
  assert.ok(
    held.payloads.every((len) => len === 1000),
    'a hook that waits sends every chunk whole',
  );
});

test('gatherPayload: pulled data goes out apart from its header, as a view, with a checksum over both parts', () => {
  const net = new Net({
    seed: 52,
    ab: { delay: 10 * MS, rate: 5_000_000 },
    configA: { gatherPayload: true },
  });
  const source = pattern(100_000, 4);
  const rx = new ReceiverHook();
  net.b.listen(80, () => {}, { hook: () => rx });
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80, hook: new SenderHook(source) });
  net.run(50 * MS);
  client.wake();
  net.run(5 * SECOND);
  assert.equal(rx.dataBytes, source.length);
  const got = Buffer.concat([...rx.data].sort((x, y) => x[0] - y[0]).map(([, v]) => v));
  assert.ok(got.equals(Buffer.from(source)));
  // Every data segment went apart, its data a view of what the hook handed over (never copied).
  assert.equal(net.gathered.length, client.info().dataSegsOut);
  assert.ok(net.gathered.every((s) => s.payload!.buffer === source.buffer));
  // The receiver checked every checksum (Net does not vouch for them): none failed.
  assert.equal(net.b.counters.InCsumErrors, 0);
});

test('the hook shrinks full-size payloads to MSS minus its options', () => {
  const net = new Net({ seed: 52, ab: { delay: 10 * MS } });
  const big = new Uint8Array(50_000);
  const hook: SubflowHook = {
    options: (_c, seg) =>
      seg.kind === 'data' ? [{ kind: 'unknown', type: MAP_KIND, data: new Uint8Array(18) }] : null,
    incoming: () => true,
    pull: (_c, ssn, max) =>
      ssn <= big.length ? big.subarray(ssn - 1, Math.min(big.length, ssn - 1 + max)) : null,
  };
  net.b.listen(80, (c) => {
    c.onData = () => {};
  });
  const lens: number[] = [];
  net.tap = (s) => {
    if (s.dir === 'ab' && s.p.len > 0) lens.push(s.p.len);
  };
  net.a.connect(0, { local: A, remote: B, remotePort: 80, hook });
  net.run(2 * SECOND);
  assert.equal(Math.max(...lens), 1460 - 12 - 20);
  assert.equal(
    lens.reduce((a, b) => a + b, 0),
    big.length,
  );
});

test('requestAck() sends a pure ACK carrying the hook options', () => {
  const net = new Net({ seed: 53, ab: { delay: 10 * MS } });
  const tx = new SenderHook(new Uint8Array(0));
  net.b.listen(80, () => {});
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80, hook: tx });
  net.run(100 * MS);
  let pure = 0;
  net.tap = (s) => {
    if (s.dir === 'ab' && s.p.len === 0 && s.p.hasMptcp === false && s.bytes.length === 20 + 12 + 8) pure++;
  };
  client.requestAck();
  net.run(net.now + 10 * MS);
  assert.equal(pure, 1);
  assert.equal(tx.calls.at(-1)!.kind, 'ack');
});

test('a hook can refuse: a listener refusing a SYN answers RST; a client refusing the SYN/ACK resets', () => {
  const net = new Net({ seed: 54, ab: { delay: 10 * MS } });
  net.b.listen(80, () => {}, { hook: () => false });
  const c1 = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  let r1: string | null | undefined;
  c1.onClose = (r) => {
    r1 = r;
  };
  net.run(100 * MS);
  assert.equal(r1, 'refused');
  assert.equal(net.b.counters.DropHookVeto, 1);

  net.b.listen(81, () => {});
  const refuser: SubflowHook = { options: () => null, incoming: () => false };
  const c2 = net.a.connect(net.now, { local: A, remote: B, remotePort: 81, hook: refuser });
  let r2: string | null | undefined;
  c2.onClose = (r) => {
    r2 = r;
  };
  net.run(net.now + 100 * MS);
  assert.equal(r2, 'rejected');
  assert.equal(net.a.counters.DropHookVeto, 1);
  assert.equal(net.b.connections().length, 0, "the server's half-open connection was reset");
});

test('receiveWindow(): a subflow advertises the window its hook gives (the connection-level window)', () => {
  const net = new Net({ seed: 55, ab: { delay: 10 * MS } });
  let shared = 300_000;
  const hook: SubflowHook = {
    options: () => null,
    incoming: () => true,
    receiveWindow: () => shared,
    onData: () => {},
  };
  net.b.listen(80, () => {}, { hook: () => hook });
  const windows: number[] = [];
  net.tap = (s) => {
    if (s.dir === 'ba' && !(s.p.flags & 0x02)) windows.push(s.p.window * 128);
  };
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80 });
  net.run(100 * MS);
  client.write(new Uint8Array(1000));
  net.run(net.now + 100 * MS);
  assert.equal(windows.at(-1), 300_032, '300 000 rounded up to the 128-byte scale unit');
  shared = 1_000_000;
  client.write(new Uint8Array(1000));
  net.run(net.now + 100 * MS);
  assert.equal(client.info().sndWnd, 1_000_064);
});

test('a pulling hook behind a closed window probes it: a lost window update does not stall the transfer', () => {
  const net = new Net({ seed: 52, ab: { delay: 10 * MS, rate: 5_000_000 } });
  const source = pattern(200_000, 4);
  let open = true;
  // The receiver's upper layer closes its window after 50 KB (a paused reader), then reopens it silently:
  // nothing makes the receiver send an update, as if the update had been lost.
  const rx = new (class extends ReceiverHook {
    receiveWindow(): number {
      return open ? 64 * 1024 : 0;
    }
  })();
  net.b.listen(80, () => {}, { hook: () => rx });
  const tx = new SenderHook(source);
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80, hook: tx });
  net.run(50 * MS);
  client.wake();
  for (let t = 0; t < 2 * SECOND && rx.dataBytes < 50_000; t += MS) net.run(MS);
  open = false;
  net.run(2 * SECOND);
  const stalled = rx.dataBytes;
  assert.ok(stalled < 50_000 + 64 * 1024, `${stalled} bytes arrived through a closed window`);
  open = true;
  net.run(30 * SECOND);
  assert.equal(rx.dataBytes, source.length);
  assert.ok(net.a.counters.TCPWinProbe > 0, 'the sender probed the closed window');
});

test('a tail loss probe through a pulling hook sends new pulled data, mapped like any other segment', () => {
  const net = new Net({ seed: 53, ab: { delay: 10 * MS }, configA: { rackTlp: true } });
  const source = pattern(5_000_000, 5);
  const rx = new ReceiverHook();
  net.b.listen(80, () => {}, { hook: () => rx });
  const tx = new SenderHook(source);
  const client = net.a.connect(0, { local: A, remote: B, remotePort: 80, hook: tx });
  net.run(50 * MS);
  client.wake();
  net.run(net.now + 100 * MS);
  assert.ok(client.info().inFlight > 0 && tx.maps.size * 1000 < source.length, 'mid-transfer');
  // Every ACK is lost for 150 ms: the sender hears nothing while it is cwnd-limited with data to pull.
  const from = net.now;
  net.drop = (s) => s.dir === 'ba' && s.at < from + 150 * MS;
  const pulledBefore = tx.maps.size;
  net.run(from + 150 * MS);
  assert.ok(net.a.counters.TCPLossProbes >= 1, 'a probe went out');
  assert.ok(tx.maps.size > pulledBefore, 'the probe pulled new data through the hook');
  assert.equal(net.a.counters.TCPTimeouts ?? 0, 0, 'the probe came before any timeout');
  net.drop = null;
  net.run(30 * SECOND);
  // Every byte arrived once, in order (SenderHook.options asserts that every data segment has its mapping).
  assert.equal(rx.dataBytes, source.length);
  const got = Buffer.concat([...rx.data].sort((x, y) => x[0] - y[0]).map(([, v]) => v));
  assert.ok(got.equals(Buffer.from(source)));
});
