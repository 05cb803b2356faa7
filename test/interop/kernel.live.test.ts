/**
 * mptcp-ts against the Linux kernel's MPTCP over TUN devices on the shared test bed (2 paths, 100 Mbit/s,
 * 5 ms one way). Our client lives behind mptun0 in mpt-cli (10.9.K.2 on path K), our server behind mptun1
 * in mpt-srv (10.10.K.1); the kernel is the peer through test/interop/kernel-peer.py. Every test ends with
 * the common checks (harness/checks.ts): kernel MPTCP counters free of errors, tshark and inspect on our
 * capture. Needs root; skips with the reason otherwise. One test bed for the whole file, always torn down.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeCaptureFile } from '../../src/inspect/packets.ts';
import type { MptcpConnection } from '../../src/mptcp/connection.ts';
import type { MptcpEndpoint } from '../../src/mptcp/endpoint.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import type { OutSegment, SegmentStack } from '../../src/stack.ts';
import type { Instant } from '../../src/util/time.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeTcp, TcpFlag, type TcpSegment } from '../../src/wire/tcp.ts';
import { forge } from '../tcp/forge.ts';
import {
  type Counters,
  counterErrors,
  delta,
  ERROR_RST_REASONS,
  inspectConnection,
  inspectSubflowPairs,
  kernelSubflowPairs,
  PmMonitor,
  savePcap,
  snapshot,
  tshark,
} from './harness/checks.ts';
import { bracket, type OurStack, ourStack, Session, sleep, until, within } from './harness/ours.ts';
import { KernelPeer, type PeerDone } from './harness/peer.ts';
import {
  acquireWithTuns,
  CLIENT_TUN,
  kernelClientAddress,
  kernelServerAddress,
  ourClientAddress,
  ourServerAddress,
  SERVER_TUN,
  skipReason,
  type Testbed,
  tsharkAvailable,
} from './harness/testbed.ts';

const SKIP = skipReason();
const MB = 1_000_000;
const CLI = new URL('../../bin/mptcp-ts', import.meta.url).pathname;
const BULK = 100 * MB;

let tb: Testbed;
let captures: string;
let failed = false;
/** Tests marked todo (known findings): their failures keep no captures around. */
const TODO_TESTS = new Set(['eager-join', 'fallback-server', 'retransmissions']);
/** Our stacks of the running test, closed by interop() whatever happens. */
const open: OurStack[] = [];

/** What a test hands to the common checks. */
interface Outcome {
  stack: OurStack;
  session: Session | null;
  /** Kernel counters this test expects to move (they are not errors here). */
  allow?: string[];
  /** MP_TCPRST reasons this test expects (e.g. a refused forged join). */
  allowRstReasons?: number[];
  /** Data segments must map to DSNs (false after a fallback). */
  mapped?: boolean;
  /** inspect must find our connection with these subflows ("ours>theirs" pairs). */
  subflows?: string[];
}

/**
 * Runs one interop test: PM monitors on both kernel hosts, counters before and after, then the common
 * checks on what the test returns. The TUN driver is closed and kernel endpoints reset whatever happens.
 */
async function interop(name: string, body: (mon: { cli: PmMonitor; srv: PmMonitor }) => Promise<Outcome>) {
  tb.resetEndpoints();
  const mon = { cli: new PmMonitor(tb, 'mpt-cli'), srv: new PmMonitor(tb, 'mpt-srv') };
  await sleep(150); // the monitors subscribe before anything happens
  const before = snapshot(tb);
  let outcome: Outcome | undefined;
  try {
    outcome = await body(mon);
  } catch (e) {
    if (!TODO_TESTS.has(name)) failed = true;
    throw e;
  } finally {
    for (const [i, s] of open.entries())
      savePcap(s.pcap.toBytes(), join(captures, `${name}${i ? `-${i}` : ''}.pcap`));
    for (const s of open.splice(0)) s.close();
    await mon.cli.stop();
    await mon.srv.stop();
  }
  const after = snapshot(tb);
  const problems: string[] = [];
  for (const ns of ['mpt-cli', 'mpt-srv'] as const) {
    const d: Counters = delta(before[ns], after[ns]);
    for (const e of counterErrors(d, outcome.allow)) problems.push(`${ns}: ${e}`);
  }
  const file = join(captures, `${name}.pcap`);
  if (tsharkAvailable()) {
    const r = tshark(file);
    if (r.malformed.length) problems.push(`tshark: malformed frames ${r.malformed.slice(0, 10)}`);
    for (const e of r.errors.slice(0, 5)) problems.push(`tshark: frame ${e.frame}: ${e.message}`);
    if (outcome.mapped !== false) {
      if (r.unmapped.length)
        problems.push(
          `tshark: ${r.unmapped.length} data segments without a DSN, first ${r.unmapped.slice(0, 5)}`,
        );
      if (r.infiniteMappings.length)
        problems.push(`tshark: infinite mappings in frames ${r.infiniteMappings}`);
    }
    for (const rst of r.resets)
      if (ERROR_RST_REASONS.has(rst.reason) && !outcome.allowRstReasons?.includes(rst.reason))
        problems.push(`MP_TCPRST reason ${rst.reason} from ${rst.src} in frame ${rst.frame}`);
  } else {
    process.stderr.write('# interop: tshark not installed, capture not decoded\n');
  }
  if (outcome.session && outcome.subflows) {
    const c = inspectConnection(outcome.stack.pcap.toBytes(), outcome.session.conn);
    if (typeof c === 'string') problems.push(c);
    else {
      const seen = inspectSubflowPairs(c, outcome.session.conn.role === 'client');
      // A capture cut at its size bound (the 100 MB tests keep the first 20 MB) may end before a late join.
      if (outcome.stack.pcap.dropped > 0)
        for (const pair of seen)
          assert.ok(outcome.subflows.includes(pair), `inspect sees ${pair}, which we did not establish`);
      else assert.deepEqual(seen, outcome.subflows, 'inspect sees the subflows we established');
      assert.equal(c.fallback, outcome.session.conn.fallback, 'inspect agrees on fallback');
    }
  }
  if (problems.length && !TODO_TESTS.has(name)) failed = true;
  assert.deepEqual(problems, [], `${name}: capture in ${file}`);
}

/** Established subflows from our events, as "ours>theirs" endpoint pairs. */
function establishedPairs(s: Session): string[] {
  return s.events
    .flatMap((e) => (e.type === 'sub_established' ? [`${bracket(e.local)}>${bracket(e.remote)}`] : []))
    .sort();
}

/** Our client on mptun0 connected to a kernel server at 10.1.1.1:port. */
function ourClient(o: {
  seed: number;
  port: number;
  send: number;
  locals?: string[];
  wrap?: (e: MptcpEndpoint) => SegmentStack;
}): { stack: OurStack; session: Session } {
  const locals = o.locals ?? [ourClientAddress(1), ourClientAddress(2)];
  const stack = ourStack({
    device: CLIENT_TUN,
    netns: 'mpt-cli',
    addresses: [ourClientAddress(1), ourClientAddress(2)],
    seed: o.seed,
    wrap: o.wrap,
  });
  open.push(stack);
  const conn = stack.endpoint.connect(stack.driver.now(), {
    local: locals[0]!,
    remote: kernelServerAddress(1),
    remotePort: o.port,
    pathManager: fullmeshManager({ localAddresses: locals }),
  });
  const session = new Session(conn, stack.driver, o.send);
  stack.driver.wake();
  return { stack, session };
}

/** Our server on mptun1 listening on `port`; the session appears when the kernel client connects. */
function ourServer(o: { seed: number; port: number; send: number }): {
  stack: OurStack;
  accepted: Promise<Session>;
} {
  const stack = ourStack({
    device: SERVER_TUN,
    netns: 'mpt-srv',
    addresses: [ourServerAddress(1), ourServerAddress(2)],
    seed: o.seed,
  });
  open.push(stack);
  const accepted = new Promise<Session>((resolve) => {
    stack.endpoint.listen(o.port, (conn: MptcpConnection) => {
      const s = new Session(conn, stack.driver, o.send);
      s.start();
      resolve(s);
    });
  });
  return { stack, accepted };
}

/** The kernel client's second path: an in-kernel PM subflow endpoint on 10.0.2.1. */
function kernelClientSecondPath(): void {
  tb.ip('mpt-cli', 'mptcp', 'endpoint', 'add', kernelClientAddress(2), 'dev', 'eth2', 'id', '2', 'subflow');
}

function assertIntact(s: Session, total: number, what: string): void {
  assert.ok(s.intact, `${what}: first wrong byte at offset ${s.firstBad}`);
  assert.equal(s.received, total, `${what}: bytes received`);
}

function assertPeerIntact(d: PeerDone, total: number, what: string): void {
  assert.equal(d.error, null, `${what}: kernel peer error`);
  assert.ok(d.intact, `${what}: kernel saw a wrong byte at offset ${d.firstBad}`);
  assert.equal(d.received, total, `${what}: bytes the kernel received`);
}

/** Every established subflow carried at least `share` of the bytes in direction `dir`. */
function assertAllCarry(s: Session, dir: 'sent' | 'received', total: number, share = 0.05): void {
  const established = new Set(establishedPairs(s));
  const bytes = [...s.subflowBytes()].filter(([pair]) => established.has(pair)).map(([, b]) => b[dir]);
  assert.ok(bytes.length >= 2, `expected 2 subflows, have ${bytes.length}`);
  for (const b of bytes)
    assert.ok(b >= total * share, `a subflow carried only ${b} of ${total} bytes (${bytes})`);
}

describe('kernel interop over TUN', { skip: SKIP ?? false, timeout: 900_000 }, () => {
  before(async () => {
    captures = mkdtempSync(join(tmpdir(), 'mptcp-ts-interop-'));
    tb = await acquireWithTuns(['--paths', '2', '--rate', '100', '--delay', '5', '--pm', 'none']);
  });

  after(async () => {
    await tb?.release();
    if (!failed && captures) rmSync(captures, { recursive: true, force: true });
    else if (captures) process.stderr.write(`# interop: captures kept in ${captures}\n`);
  });

  test('our client → kernel server: MP_CAPABLE, 2 subflows, 100 MB up intact, both subflows carry data', async () => {
    await interop('client-upload', async (mon) => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45101 });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 101, port: 45101, send: BULK });
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assertPeerIntact(done, BULK, 'upload');
      assert.ok(done.mptcp, 'the kernel socket stayed MPTCP');
      assert.equal(session.closeReason, null, 'clean close');
      assertAllCarry(session, 'sent', BULK);
      const token = session.conn.remoteToken;
      assert.equal(mon.srv.of('CREATED', token).length, 1, 'kernel CREATED event for our connection');
      assert.equal(mon.srv.of('ESTABLISHED', token).length, 1, 'kernel ESTABLISHED event');
      assert.equal(mon.srv.of('SF_ESTABLISHED', token).length, 1, 'kernel saw our join');
      assert.equal(mon.srv.of('CLOSED', token).length, 1, 'kernel CLOSED event');
      const pairs = establishedPairs(session);
      assert.deepEqual(kernelSubflowPairs(done), pairs, "the kernel's subflows are ours");
      return { stack, session, subflows: pairs };
    });
  });

  test('kernel server → our client: 100 MB down intact over 2 subflows', async () => {
    await interop('client-download', async () => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45102, send: BULK });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 102, port: 45102, send: 0 });
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.equal(done.error, null);
      assert.equal(done.sent, BULK);
      assertIntact(session, BULK, 'download');
      assertAllCarry(session, 'received', BULK);
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('joins wait for the MP_CAPABLE confirmation (plain fullmesh, 5 MB down)', async () => {
    await interop('eager-join', async () => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45115, send: 5 * MB });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 115, port: 45115, send: 0 });
      await peer.done(30_000);
      await within(session.closed, 10_000, 'our connection to close');
      assertIntact(session, 5 * MB, 'download');
      // Deterministic part: in our capture the MP_CAPABLE third ACK must precede the first MP_JOIN SYN.
      const cap = decodeCaptureFile(stack.pcap.toBytes());
      assert.ok(!(cap instanceof DecodeError));
      const ours = cap.segments.filter((g) => g.src.startsWith('10.9.'));
      const thirdAck = ours.findIndex(
        (g) => g.flags === TcpFlag.ACK && g.mptcp.some((o) => o.subtype === 'MP_CAPABLE'),
      );
      const joinSyn = ours.findIndex(
        (g) => g.flags & TcpFlag.SYN && g.mptcp.some((o) => o.subtype === 'MP_JOIN'),
      );
      assert.ok(thirdAck >= 0 && joinSyn >= 0);
      assert.ok(
        thirdAck < joinSyn,
        `our first MP_JOIN SYN (segment ${joinSyn}) left before the third ACK (${thirdAck})`,
      );
      const refused = session.events.filter((e) => e.type === 'sub_closed' && e.reason !== 'closed');
      assert.deepEqual(refused, [], 'no join refused');
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('upload: each subflow retransmits under 3 % of the bytes it sends (the kernel sender: under 1 % here)', async () => {
    await interop('retransmissions', async () => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45117 });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 117, port: 45117, send: 40 * MB });
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assertPeerIntact(done, 40 * MB, 'upload');
      for (const s of session.conn.listSubflows()) {
        const share = s.info.bytesRetrans / Math.max(1, s.info.bytesSent);
        console.log(
          `upload: subflow ${s.id} retransmitted ${(100 * share).toFixed(2)} % of ${s.info.bytesSent} B`,
        );
        assert.ok(share < 0.03, `subflow ${s.id} retransmitted ${(100 * share).toFixed(1)} % of its bytes`);
      }
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('kernel client → our server: MP_CAPABLE, join from 10.0.2.1, 100 MB up intact', async () => {
    await interop('server-upload', async (mon) => {
      kernelClientSecondPath();
      const { stack, accepted } = ourServer({ seed: 103, port: 45103, send: 0 });
      const peer = KernelPeer.client(tb, 'mpt-cli', ourServerAddress(1), { port: 45103, send: BULK });
      const session = await within(accepted, 10_000, 'the kernel client to connect');
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.equal(done.error, null);
      assert.ok(done.mptcp);
      assertIntact(session, BULK, 'upload to our server');
      assertAllCarry(session, 'received', BULK);
      const token = session.conn.remoteToken;
      assert.equal(mon.cli.of('SF_ESTABLISHED', token).length, 1, 'kernel client joined once');
      const pairs = establishedPairs(session);
      assert.deepEqual(kernelSubflowPairs(done), pairs);
      return { stack, session, subflows: pairs };
    });
  });

  test('our server → kernel client: 100 MB down intact over 2 subflows', async () => {
    await interop('server-download', async () => {
      kernelClientSecondPath();
      const { stack, accepted } = ourServer({ seed: 104, port: 45104, send: BULK });
      const peer = KernelPeer.client(tb, 'mpt-cli', ourServerAddress(1), { port: 45104 });
      const session = await within(accepted, 10_000, 'the kernel client to connect');
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assertPeerIntact(done, BULK, 'download from our server');
      assertAllCarry(session, 'sent', BULK);
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('ADD_ADDR kernel → us (echoed, joined), then REMOVE_ADDR kernel → us (subflow closed, data intact)', async () => {
    await interop('kernel-announces', async (mon) => {
      tb.ip(
        'mpt-srv',
        'mptcp',
        'endpoint',
        'add',
        kernelServerAddress(2),
        'dev',
        'eth2',
        'id',
        '2',
        'signal',
      );
      const before = tb.counters('mpt-srv');
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45105, send: 40 * MB });
      await peer.listening();
      const { stack, session } = ourClient({
        seed: 105,
        port: 45105,
        send: 0,
        locals: [ourClientAddress(1)],
      });
      const announced = () => session.events.some((e) => e.type === 'announced');
      await until(announced, 10_000, 'ADD_ADDR from the kernel');
      const joined = () =>
        session.conn
          .listSubflows()
          .some((s) => s.remote.address === kernelServerAddress(2) && s.fullyEstablished);
      await until(joined, 10_000, 'our join to the announced address');
      await until(() => session.received > 10 * MB, 30_000, '10 MB');
      const mid = delta(before, tb.counters('mpt-srv'));
      assert.ok((mid.MPTcpExtAddAddrTx ?? 0) >= 1, 'kernel sent ADD_ADDR');
      assert.ok((mid.MPTcpExtEchoAdd ?? 0) >= 1, 'kernel received our echo');
      assert.ok((mid.MPTcpExtMPJoinAckRx ?? 0) >= 1, 'kernel accepted our join');
      assert.ok(session.conn.remoteAddresses.size >= 1);
      const pairsBefore = establishedPairs(session);
      tb.ip('mpt-srv', 'mptcp', 'endpoint', 'delete', 'id', '2');
      await until(
        () => session.events.some((e) => e.type === 'removed'),
        10_000,
        'REMOVE_ADDR from the kernel',
      );
      await until(
        () =>
          !session.conn.listSubflows().some((s) => s.attached && s.remote.address === kernelServerAddress(2)),
        10_000,
        'the subflow to the removed address to close',
      );
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.equal(done.error, null);
      assertIntact(session, 40 * MB, 'download across ADD_ADDR/REMOVE_ADDR');
      const after = delta(before, tb.counters('mpt-srv'));
      assert.ok((after.MPTcpExtRmAddrTx ?? 0) >= 1, 'kernel sent REMOVE_ADDR');
      assert.ok(stack.endpoint.counters.AddAddr >= 1 && stack.endpoint.counters.RmAddr >= 1);
      assert.equal(mon.srv.of('SF_CLOSED', session.conn.remoteToken).length >= 1, true, 'kernel SF_CLOSED');
      return { stack, session, subflows: pairsBefore, allow: ['MPTcpExtMPRstTx', 'MPTcpExtMPRstRx'] };
    });
  });

  test('ADD_ADDR us → kernel (echoed, kernel joins), then REMOVE_ADDR us → kernel (kernel closes it)', async () => {
    await interop('we-announce', async (mon) => {
      const before = tb.counters('mpt-cli');
      const { stack, accepted } = ourServer({ seed: 106, port: 45106, send: 40 * MB });
      const peer = KernelPeer.client(tb, 'mpt-cli', ourServerAddress(1), { port: 45106 });
      const session = await within(accepted, 10_000, 'the kernel client to connect');
      await until(() => session.conn.state === 'established', 5000, 'established');
      session.conn.announce(ourServerAddress(2));
      stack.driver.wake();
      const joined = () =>
        session.conn
          .listSubflows()
          .some((s) => s.local.address === ourServerAddress(2) && s.fullyEstablished);
      await until(joined, 10_000, 'the kernel to join our announced address');
      assert.ok(stack.endpoint.counters.EchoAdd >= 1, 'the kernel echoed our ADD_ADDR');
      const token = session.conn.remoteToken;
      const ann = mon.cli.of('ANNOUNCED', token);
      assert.equal(ann.length, 1, 'kernel ANNOUNCED event');
      assert.equal(ann[0]!.fields.daddr4, ourServerAddress(2));
      await until(() => session.sent > 15 * MB, 30_000, '15 MB sent');
      const pairsBefore = establishedPairs(session);
      session.conn.removeAddress(ourServerAddress(2));
      stack.driver.wake();
      await until(() => mon.cli.of('REMOVED', token).length === 1, 10_000, 'kernel REMOVED event');
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assertPeerIntact(done, 40 * MB, 'download across our ADD_ADDR/REMOVE_ADDR');
      const d = delta(before, tb.counters('mpt-cli'));
      assert.ok(
        (d.MPTcpExtAddAddr ?? 0) >= 1 && (d.MPTcpExtEchoAddTx ?? 0) >= 1,
        'kernel got and echoed ADD_ADDR',
      );
      assert.ok((d.MPTcpExtRmAddr ?? 0) >= 1, 'kernel got REMOVE_ADDR');
      return { stack, session, subflows: pairsBefore, allow: ['MPTcpExtMPRstTx', 'MPTcpExtMPRstRx'] };
    });
  });

  test('MP_PRIO us → kernel: after our backup request the kernel stops sending on that subflow', async () => {
    await interop('we-prio', async (mon) => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45107, send: 60 * MB });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 107, port: 45107, send: 0 });
      await until(() => session.received > 10 * MB, 30_000, '10 MB');
      const second = session.conn.listSubflows().find((s) => !s.initial && s.fullyEstablished);
      assert.ok(second, 'a joined subflow');
      assert.ok(second.bytesReceived > 0, 'the joined subflow carried data before');
      session.conn.setBackup(second.id, true);
      stack.driver.wake();
      // From the moment the kernel took the MP_PRIO (its SF_PRIO event), not from our call: until it arrives
      // the kernel rightly sends on.
      await until(
        () => mon.srv.of('SF_PRIO', session.conn.remoteToken).length > 0,
        10_000,
        "the kernel's SF_PRIO event",
      );
      // What the kernel had queued on the subflow still lands after its SF_PRIO: 1.2 and 2.2 MB in the first
      // 250 ms in two traced runs, nothing after; a fixed 300 ms was once too short. So wait for a quiet 250 ms
      // (at most 5 s), then judge the next second.
      const onBackup = () => session.conn.subflowStatus(second.id).bytesReceived;
      for (let t = 0, prev = onBackup(); t < 5000; t += 250) {
        await sleep(250);
        const now = onBackup();
        if (now === prev) break;
        prev = now;
      }
      const b0 = onBackup();
      const total0 = session.received;
      await sleep(1000);
      const b1 = onBackup();
      // (How much depends on the machine's load; that it goes on is the point, unless it is all there.)
      assert.ok(
        session.received - total0 > 0 || session.received >= 60 * MB,
        'the other subflow kept carrying',
      );
      assert.ok(b1 - b0 < 64 * 1024, `the kernel sent ${b1 - b0} bytes on the backup subflow`);
      const prio = mon.srv.of('SF_PRIO', session.conn.remoteToken);
      assert.ok(prio.length >= 1 && prio[0]!.fields.backup === '1', 'kernel SF_PRIO backup=1');
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.equal(done.error, null);
      assertIntact(session, 60 * MB, 'download across MP_PRIO');
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('MP_PRIO kernel → us: after `ip mptcp endpoint change ... backup` we stop sending on that subflow', async () => {
    await interop('kernel-prio', async () => {
      kernelClientSecondPath();
      const { stack, accepted } = ourServer({ seed: 108, port: 45108, send: 60 * MB });
      const peer = KernelPeer.client(tb, 'mpt-cli', ourServerAddress(1), { port: 45108 });
      const session = await within(accepted, 10_000, 'the kernel client to connect');
      const second = () =>
        session.conn.listSubflows().find((s) => s.remote.address === kernelClientAddress(2));
      await until(() => (second()?.bytesSent ?? 0) > MB, 30_000, 'data on the joined subflow');
      tb.ip('mpt-cli', 'mptcp', 'endpoint', 'change', 'id', '2', 'backup');
      await until(() => second()!.backup.remote, 5000, 'MP_PRIO from the kernel');
      await sleep(100);
      const first = () =>
        session.conn.listSubflows().find((s) => s.remote.address === kernelClientAddress(1) && s.attached);
      const b0 = second()!.bytesSent;
      const f0 = first()?.bytesSent ?? 0;
      await sleep(1000);
      const b1 = second()!.bytesSent;
      const f1 = first()?.bytesSent ?? 0;
      const finished = session.conn.info().sndUna >= 60 * MB;
      assert.ok(b1 - b0 < 64 * 1024, `we sent ${b1 - b0} bytes on the subflow the kernel made backup`);
      assert.ok(stack.endpoint.counters.MPPrioRx >= 1);
      assert.ok(
        session.events.some((e) => e.type === 'sub_priority' && e.by === 'remote' && e.backup),
        'sub_priority event',
      );
      const done = await peer.done(90_000);
      await within(session.closed, 10_000, 'our connection to close');
      // The data went on on the active subflow meanwhile (unless the download had already finished).
      assert.ok(f1 - f0 > 0 || finished, `active subflow sent ${f1 - f0} bytes meanwhile`);
      assertPeerIntact(done, 60 * MB, 'download across the kernel MP_PRIO');
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('failover: path 1 cut for 3 s and restored, 40 MB each way survive intact', async () => {
    await interop('failover', async () => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45109, send: 40 * MB });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 109, port: 45109, send: 40 * MB });
      await until(() => session.received > 5 * MB && session.sent > 5 * MB, 30_000, '5 MB each way');
      tb.setLink(1, 'down');
      const cut = { received: session.received, sent: session.sent };
      await sleep(3000);
      const during = { received: session.received - cut.received, sent: session.sent - cut.sent };
      tb.setLink(1, 'up');
      const done = await peer.done(90_000);
      await within(session.closed, 20_000, 'our connection to close');
      assert.ok(during.received > 2 * MB, `only ${during.received} bytes arrived during the cut`);
      assertIntact(session, 40 * MB, 'download across the cut');
      assertPeerIntact(done, 40 * MB, 'upload across the cut');
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('fallback: a plain-TCP kernel server; 5 MB each way over TCP', async () => {
    await interop('fallback-client', async () => {
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45110, send: 5 * MB, tcp: true });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 110, port: 45110, send: 5 * MB });
      const done = await peer.done(30_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.ok(session.conn.fallback, 'we fell back to TCP');
      assert.ok(session.events.some((e) => e.type === 'fallback'));
      assertPeerIntact(done, 5 * MB, 'upload to a TCP server');
      assertIntact(session, 5 * MB, 'download from a TCP server');
      const init = session.conn.initial()!.tcp;
      const pair = `${init.local.address}:${init.local.port}>${init.remote.address}:${init.remote.port}`;
      return { stack, session, mapped: false, subflows: [pair] };
    });
  });

  test('fallback: a plain-TCP kernel client to our server; 5 MB each way', async () => {
    await interop('fallback-server', async () => {
      const { stack, accepted } = ourServer({ seed: 111, port: 45111, send: 5 * MB });
      const peer = KernelPeer.client(tb, 'mpt-cli', ourServerAddress(1), {
        port: 45111,
        send: 5 * MB,
        tcp: true,
      });
      const session = await within(accepted, 10_000, 'the kernel client to connect');
      const done = await peer.done(60_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.ok(session.conn.fallback);
      assertPeerIntact(done, 5 * MB, 'download from our server over TCP');
      assertIntact(session, 5 * MB, 'upload to our server over TCP');
      return { stack, session, mapped: false };
    });
  });

  test('MP_FASTCLOSE us → kernel: abort() resets the kernel socket', async () => {
    await interop('we-fastclose', async () => {
      const before = tb.counters('mpt-srv');
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45112, send: 40 * MB });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 112, port: 45112, send: 10 * MB });
      await until(() => session.received > 3 * MB, 30_000, '3 MB');
      session.conn.abort();
      stack.driver.wake();
      const done = await peer.done(10_000);
      // The sender or the receiver thread of the kernel peer sees the reset first.
      assert.match(String(done.error), /reset|broken pipe/i, 'the kernel socket was reset');
      const d = delta(before, tb.counters('mpt-srv'));
      assert.ok((d.MPTcpExtMPFastcloseRx ?? 0) >= 1, 'kernel counted MP_FASTCLOSE');
      assert.equal(stack.endpoint.counters.MPFastcloseTx, 1);
      // Linux emits no MPTCP_EVENT_CLOSED for a connection the peer fast-closed (kernel to kernel alike).
      return {
        stack,
        session,
        subflows: establishedPairs(session),
        // Our segments still in flight after the fast close get RSTs with MP_TCPRST (their reasons are checked).
        allow: ['MPTcpExtMPFastcloseRx', 'MPTcpExtMPRstRx', 'MPTcpExtMPRstTx'],
      };
    });
  });

  // Linux sends MP_FASTCLOSE with MP_TCPRST on a RST (RFC 8684 §3.5 option R).
  test('MP_FASTCLOSE kernel → us: a SO_LINGER 0 close (RST + MP_FASTCLOSE) closes our connection', async () => {
    await interop('kernel-fastclose', async () => {
      const before = tb.counters('mpt-srv');
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45113, abortAfter: 3 * MB });
      await peer.listening();
      const { stack, session } = ourClient({ seed: 113, port: 45113, send: 40 * MB });
      const done = await peer.done(30_000);
      assert.ok(done.aborted);
      const reason = await within(session.closed, 3000, 'our connection to close');
      assert.match(String(reason), /FASTCLOSE/i);
      assert.equal(stack.endpoint.counters.MPFastcloseRx, 1);
      const d = delta(before, tb.counters('mpt-srv'));
      assert.ok((d.MPTcpExtMPFastcloseTx ?? 0) >= 1, 'kernel sent MP_FASTCLOSE');
      return {
        stack,
        session,
        subflows: establishedPairs(session),
        allow: ['MPTcpExtMPFastcloseTx', 'MPTcpExtMPRstTx'],
      };
    });
  });

  test('IPv6 framing: our client → a kernel server on the TUN link itself, 5 MB each way', async () => {
    await interop('ipv6', async () => {
      // The test bed turns IPv6 off; on the TUN link only: the kernel in mpt-cli owns fd00:9::1, we fd00:9::2.
      tb.exec('mpt-cli', [
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.disable_ipv6=0',
        `net.ipv6.conf.${CLIENT_TUN}.disable_ipv6=0`,
      ]);
      tb.ip('mpt-cli', 'addr', 'add', 'fd00:9::1/64', 'dev', CLIENT_TUN, 'nodad');
      const peer = KernelPeer.server(tb, 'mpt-cli', { port: 45116, send: 5 * MB, bind: '::' });
      await peer.listening();
      const stack = ourStack({ device: CLIENT_TUN, netns: 'mpt-cli', addresses: ['fd00:9::2'], seed: 116 });
      open.push(stack);
      const conn = stack.endpoint.connect(stack.driver.now(), {
        local: 'fd00:9::2',
        remote: 'fd00:9::1',
        remotePort: 45116,
      });
      const session = new Session(conn, stack.driver, 5 * MB);
      stack.driver.wake();
      const done = await peer.done(30_000);
      await within(session.closed, 10_000, 'our connection to close');
      assert.ok(!conn.fallback, 'MPTCP over IPv6');
      assertPeerIntact(done, 5 * MB, 'IPv6 upload');
      assertIntact(session, 5 * MB, 'IPv6 download');
      assert.equal(stack.transport.stats.badIp, 0);
      return { stack, session, subflows: establishedPairs(session) };
    });
  });

  test('forged MP_JOIN: an unknown token and a wrong third-ACK HMAC are refused; the connection is unharmed', async () => {
    await interop('forged-join', async () => {
      const before = tb.counters('mpt-srv');
      const forger = new Forger();
      const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45114 });
      await peer.listening();
      const { stack, session } = ourClient({
        seed: 114,
        port: 45114,
        send: 10 * MB,
        locals: [ourClientAddress(1)],
        wrap: (e) => forger.wrap(e),
      });
      await until(() => session.conn.remoteKey !== null && session.sent > MB, 10_000, 'established');
      const now = stack.driver.now();
      // 1. A token the kernel never issued.
      const unknown = (session.conn.remoteToken ^ 0x5a5a5a5a) >>> 0;
      forger.joinSyn(now, 40001, unknown, 45114);
      stack.driver.wake();
      const r1 = await forger.reply(40001, 5000);
      assert.ok(r1.flags & TcpFlag.RST, 'unknown token: reset');
      // 2. The right token, then a third ACK whose HMAC is wrong.
      forger.joinSyn(stack.driver.now(), 40002, session.conn.remoteToken, 45114);
      stack.driver.wake();
      const synAck = await forger.reply(40002, 5000);
      assert.equal(
        synAck.flags & (TcpFlag.SYN | TcpFlag.ACK),
        TcpFlag.SYN | TcpFlag.ACK,
        'right token: SYN/ACK',
      );
      forger.badJoinAck(stack.driver.now(), 40002, synAck);
      stack.driver.wake();
      const r2 = await forger.reply(40002, 5000);
      assert.ok(r2.flags & TcpFlag.RST, 'wrong HMAC: reset');
      const d = delta(before, tb.counters('mpt-srv'));
      assert.equal(d.MPTcpExtMPJoinNoTokenFound, 1, 'kernel: join with no token found');
      assert.equal(d.MPTcpExtMPJoinAckHMacFailure, 1, 'kernel: third ACK HMAC failure');
      const done = await peer.done(30_000);
      await within(session.closed, 10_000, 'our connection to close');
      assertPeerIntact(done, 10 * MB, 'the real connection');
      const c = inspectConnection(stack.pcap.toBytes(), session.conn);
      assert.ok(typeof c !== 'string', String(c));
      const forged = c.subflows.find((sf) => sf.initiator === `${ourClientAddress(2)}:40002`);
      assert.ok(forged, 'inspect links the forged join to the connection by its token');
      assert.equal(forged.hmacValid.ack, false, 'inspect finds the forged third-ACK HMAC wrong');
      return {
        stack,
        session,
        subflows: [
          ...establishedPairs(session),
          `${ourClientAddress(2)}:40002>${kernelServerAddress(1)}:45114`,
        ].sort(),
        allow: ['MPTcpExtMPJoinNoTokenFound', 'MPTcpExtMPJoinAckHMacFailure', 'MPTcpExtMPRstTx'],
        // The kernel refuses forged joins with MP_TCPRST "MPTCP-specific error" or "prohibited".
        allowRstReasons: [1],
      };
    });
  });

  test('the CLI over TUN: kernel client → `mptcp-ts server --transport tun`, 20 MB of the pattern verified', async () => {
    tb.resetEndpoints();
    kernelClientSecondPath();
    const total = 20 * MB;
    const server = spawn(
      process.execPath,
      [
        CLI,
        'server',
        '--port',
        '45119',
        '--transport',
        'tun',
        '--tun-device',
        SERVER_TUN,
        '--tun-netns',
        'mpt-srv',
        '--addresses',
        `${ourServerAddress(1)},${ourServerAddress(2)}`,
        '--once',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    server.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    server.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    // Its "listening" line, not a fixed wait: on a starved host the CLI can take longer to start, and a kernel
    // whose MP_CAPABLE SYN goes unanswered retries without MPTCP (its blackhole detection).
    await until(() => err.includes('listening on'), 30_000, 'the server to listen');
    const peer = KernelPeer.client(tb, 'mpt-cli', ourServerAddress(1), { port: 45119, send: total });
    const done = await peer.done(60_000);
    const code = await within(exited, 20_000, 'the server to exit after its one connection');
    assert.equal(done.error, null, 'kernel client error');
    assert.equal(done.sent, total);
    assert.ok(done.mptcp, 'the kernel socket stayed MPTCP');
    assert.equal(code, 0, `server: ${err}`);
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { bytes: number; integrity: boolean };
    assert.equal(r.integrity, true, 'the server verified every byte of the pattern');
    assert.equal(r.bytes, total);
  });

  test('the CLI over TUN: `mptcp-ts client --transport tun` → kernel server, 20 MB of the pattern up, both paths', async () => {
    tb.resetEndpoints();
    const total = 20 * MB;
    const peer = KernelPeer.server(tb, 'mpt-srv', { port: 45118 });
    await peer.listening();
    const client = spawnSync(
      process.execPath,
      [
        CLI,
        'client',
        kernelServerAddress(1),
        '--port',
        '45118',
        '--transport',
        'tun',
        '--tun-device',
        CLIENT_TUN,
        '--tun-netns',
        'mpt-cli',
        '--local',
        `${ourClientAddress(1)},${ourClientAddress(2)}`,
        '--bytes',
        String(total),
        '--raw',
        '--json',
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    assert.equal(client.status, 0, `client (signal ${client.signal}, ${client.error}): ${client.stderr}`);
    const r = JSON.parse(client.stdout) as {
      bytes: number;
      subflows: { local: string; bytesSent: number }[];
    };
    const done = await peer.done(30_000);
    assertPeerIntact(done, total, 'upload from the CLI over TUN');
    assert.ok(done.mptcp, 'the kernel socket stayed MPTCP');
    assert.equal(r.bytes, total);
    for (const k of [1, 2])
      assert.ok(
        r.subflows.some((f) => f.local.startsWith(`${ourClientAddress(k)}:`) && f.bytesSent > MB),
        `path ${k} carried data: ${JSON.stringify(r.subflows)}`,
      );
  });
});

/**
 * Sends hand-made MP_JOIN segments from 10.9.2.2 next to the real endpoint, and catches the kernel's answers
 * to them (segments to the forged ports never reach the endpoint).
 */
class Forger {
  private inner!: MptcpEndpoint;
  private readonly out: OutSegment[] = [];
  private readonly replies = new Map<number, TcpSegment[]>();
  private readonly iss = new Map<number, number>();
  private readonly src = ourClientAddress(2);
  private readonly dst = kernelServerAddress(1);

  wrap(e: MptcpEndpoint): SegmentStack {
    this.inner = e;
    const self = this;
    return {
      receive(now: Instant, src: string, dst: string, segment: Uint8Array) {
        const port = (segment[2]! << 8) | segment[3]!;
        if (dst === self.src && self.iss.has(port)) {
          const s = decodeTcp(segment);
          if (!(s instanceof DecodeError)) self.replies.get(port)!.push(s);
          return;
        }
        self.inner.receive(now, src, dst, segment);
      },
      poll: (now: Instant) => self.out.shift() ?? self.inner.poll(now),
      nextDeadline: () => self.inner.nextDeadline(),
      onTimer: (now: Instant) => self.inner.onTimer(now),
      onAddressChange: (now: Instant, a: string, up: boolean) => self.inner.onAddressChange(now, a, up),
    };
  }

  private send(
    port: number,
    dport: number,
    seq: number,
    ack: number,
    flags: number,
    options: TcpSegment['options'],
  ) {
    const segment = forge(this.src, this.dst, { srcPort: port, dstPort: dport, seq, ack, flags, options });
    this.out.push({ src: this.src, dst: this.dst, segment });
  }

  joinSyn(_now: Instant, port: number, token: number, dport: number): void {
    const iss = (port * 7919) >>> 0;
    this.iss.set(port, iss);
    this.replies.set(port, []);
    this.send(port, dport, iss, 0, TcpFlag.SYN, [
      { kind: 'mss', mss: 1460 },
      {
        kind: 'mptcp',
        mptcp: { subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 9, token, nonce: 0x1234567 },
      },
    ]);
  }

  badJoinAck(_now: Instant, port: number, synAck: TcpSegment): void {
    const hmac = new Uint8Array(20).fill(0xab);
    this.send(port, synAck.srcPort, (this.iss.get(port)! + 1) >>> 0, (synAck.seq + 1) >>> 0, TcpFlag.ACK, [
      { kind: 'mptcp', mptcp: { subtype: 'MP_JOIN', form: 'ack', backup: false, addressId: 0, hmac } },
    ]);
  }

  /** The next segment the kernel sent to a forged port. */
  async reply(port: number, ms: number): Promise<TcpSegment> {
    const q = this.replies.get(port)!;
    await until(() => q.length > 0, ms, `the kernel's answer on port ${port}`);
    return q.shift()!;
  }
}
