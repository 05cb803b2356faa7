/**
 * Acceptance checks of issue 4 on the scenario files in scenarios/, at full length: two paths fill their
 * summed capacity (equal and unequal delays), failover and return are quick, the UAV priority experiment
 * behaves as in the paper with and without persistent lists, primary-path-only keeps data on the primary,
 * a middlebox that strips options causes a clean fallback, 200 chaotic seeds deliver every byte, and the
 * pcap of a transfer decodes in tshark with every DSN mapped while `inspect` sees the same subflows.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyse } from '../../src/inspect/connections.ts';
import { decodeCaptureFile } from '../../src/inspect/packets.ts';
import type { FlowResult, TimelinePoint } from '../../src/sim/result.ts';
import { runScenario } from '../../src/sim/runner.ts';
import { parseScenario, type Scenario } from '../../src/sim/scenario.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { LinkType } from '../../src/wire/link.ts';
import { PcapWriter } from '../../src/wire/pcap.ts';
import { chaosScenario } from './chaos.ts';

const TSHARK = '/usr/bin/tshark';

const load = (name: string): Scenario =>
  parseScenario(JSON.parse(readFileSync(new URL(`../../scenarios/${name}.json`, import.meta.url), 'utf8')), {
    defaultName: name,
  });

/** Payload capacity of a link with 1500-byte packets carrying plain TCP with timestamps (1448-byte MSS). */
const payloadMbps = (rateMbps: number) => (rateMbps * 1448) / 1500;

/** Mean of a path's (or the goodput's) samples with from < t ≤ to. */
function mean(tl: TimelinePoint[], from: number, to: number, path?: string): number {
  const xs = tl
    .filter((p) => p.t > from && p.t <= to)
    .map((p) => (path ? p.perPathMbps[path]! : p.goodputMbps));
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** The longest run of samples in which the application received nothing, in seconds. */
function longestStall(tl: TimelinePoint[], from: number, to: number): number {
  let longest = 0;
  let start: number | null = null;
  let prev = from;
  for (const p of tl) {
    if (p.t <= from || p.t > to) continue;
    if (p.goodputMbps === 0) start ??= prev;
    else if (start !== null) {
      longest = Math.max(longest, prev - start);
      start = null;
    }
    prev = p.t;
  }
  if (start !== null) longest = Math.max(longest, prev - start);
  return longest;
}

/** The first sample after `after` in which `path` carried more than `mbps`. */
function firstCarrying(tl: TimelinePoint[], path: string, after: number, mbps = 0.01): number | null {
  return tl.find((p) => p.t > after && p.perPathMbps[path]! > mbps)?.t ?? null;
}

const intact = (f: FlowResult) => {
  assert.equal(f.integrity, true, `${f.name}: bytes intact and in order`);
};

describe('acceptance (issue 4)', () => {
  it('2 × 100 Mbit/s, 10 ms, 30 s: at least 95 % of the summed payload capacity', () => {
    const r = runScenario(load('mptcp-2x100'));
    const f = r.flows[0]!;
    const capacity = 2 * payloadMbps(100);
    console.log(
      `mptcp-2x100: goodput ${f.goodputMbps} Mbit/s of ${capacity.toFixed(1)} (${((100 * f.goodputMbps) / capacity).toFixed(1)} %), per subflow ${f.subflows.map((s) => `${s.path} ${(s.bytesSent / 1e6).toFixed(0)} MB`).join(', ')}`,
    );
    intact(f);
    assert.equal(f.subflows.length, 2);
    assert.ok(f.goodputMbps >= 0.95 * capacity, `${f.goodputMbps} < 95 % of ${capacity}`);
  });

  it('10 ms and 100 ms paths: at least 90 % of the summed capacity over seconds 10–30', () => {
    const r = runScenario(load('mptcp-delay'));
    const f = r.flows[0]!;
    const capacity = 2 * payloadMbps(100);
    const g = mean(f.timeline, 10, 30);
    console.log(
      `mptcp-delay: ${g.toFixed(1)} Mbit/s over 10–30 s of ${capacity.toFixed(1)} (${((100 * g) / capacity).toFixed(1)} %); near ${mean(f.timeline, 10, 30, 'p1').toFixed(1)}, far ${mean(f.timeline, 10, 30, 'p2').toFixed(1)}`,
    );
    intact(f);
    assert.ok(g >= 0.9 * capacity, `${g.toFixed(1)} < 90 % of ${capacity}`);
  });

  it('failover: path 1 down 10–20 s; path 2 carries on, no stall over 1 s, path 1 back within 2 s', () => {
    const r = runScenario(load('mptcp-failover'));
    const f = r.flows[0]!;
    const tl = f.timeline;
    const stall = longestStall(tl, 0, 30);
    const back = firstCarrying(tl, 'p1', 20, 1);
    const p2AfterCut = mean(tl, 10, 11, 'p2');
    console.log(
      `mptcp-failover: p2 ${p2AfterCut.toFixed(1)} Mbit/s in 10–11 s, longest stall ${stall.toFixed(1)} s, p1 carrying again at ${back} s, goodput 25–30 s ${mean(tl, 25, 30).toFixed(1)} Mbit/s`,
    );
    intact(f);
    assert.ok(mean(tl, 10.2, 20, 'p1') < 0.5, 'path 1 is dark while down');
    assert.ok(p2AfterCut > 50, 'path 2 carries data within 1 s of the cut');
    assert.ok(stall <= 1, `the application stream stalled ${stall.toFixed(1)} s`);
    assert.ok(back !== null && back <= 22, `path 1 carried data again at ${back} s (cut ended at 20 s)`);
  });

  for (const variant of ['uav-priority', 'uav-priority-lists'] as const) {
    it(`the UAV paper's priority experiment (${variant})`, () => {
      const r = runScenario(load(variant));
      const f = r.flows[0]!;
      const tl = f.timeline;
      const m = (from: number, to: number, p: string) => mean(tl, from, to, p);
      const row = (from: number, to: number) =>
        `${from}–${to} s: ${['p1', 'p2', 'p3'].map((p) => `${p} ${m(from, to, p).toFixed(2)}`).join(' ')}`;
      console.log(
        `${variant}: ${[row(5, 15), row(17, 35), row(37, 55), row(58, 75), row(77, 95), row(100, 115)].join(' | ')}`,
      );
      intact(f);
      const idle = 0.01;
      for (const p of ['p1', 'p2', 'p3']) assert.ok(m(5, 15, p) > 0.2, `${p} carries data before 15 s`);
      for (const p of ['p2', 'p3']) assert.ok(m(17, 35, p) < idle, `${p} is idle as a backup (17–35 s)`);
      assert.ok(m(17, 35, 'p1') > 0.5, 'p1 carries the data alone (17–35 s)');
      assert.ok(m(37, 55, 'p1') === 0, 'p1 is down (35–55 s)');
      for (const p of ['p2', 'p3'])
        assert.ok(m(37, 55, p) > 0.2, `backup ${p} carries data while p1 is down`);
      assert.ok(m(58, 75, 'p1') > 0.5, 'p1 takes over again after 55 s');
      for (const p of ['p2', 'p3']) assert.ok(m(58, 75, p) < idle, `${p} is idle again (58–75 s)`);
      for (const p of ['p2', 'p3']) assert.ok(m(77, 95, p) === 0, `${p} is down (75–95 s)`);
      const recreated = f.subflows.filter((s) => s.path !== 'p1' && s.closedReason === null);
      assert.equal(recreated.length, 2, 'p2 and p3 were re-created after 95 s');
      if (variant === 'uav-priority') {
        for (const p of ['p2', 'p3']) assert.ok(m(100, 115, p) > 0.2, `re-created ${p} is active`);
        for (const s of recreated) assert.equal(s.backup, false, `subflow ${s.id} came back active`);
      } else {
        for (const p of ['p2', 'p3']) assert.ok(m(100, 115, p) < idle, `re-created ${p} is a backup`);
        for (const s of recreated) assert.equal(s.backup, true, `subflow ${s.id} came back backup`);
      }
    });
  }

  it('primary-path-only: data only on p1 while it works, on the others while it is down, back on p1', () => {
    const r = runScenario(load('ppos'));
    const f = r.flows[0]!;
    const tl = f.timeline;
    const m = (from: number, to: number, p: string) => mean(tl, from, to, p);
    const back = firstCarrying(tl, 'p1', 70, 1);
    console.log(
      `ppos: 1–30 s p1 ${m(1, 30, 'p1').toFixed(2)} p2 ${m(1, 30, 'p2')} p3 ${m(1, 30, 'p3')}; 32–70 s p1 ${m(32, 70, 'p1')} p2+p3 ${(m(32, 70, 'p2') + m(32, 70, 'p3')).toFixed(2)}; p1 back at ${back} s; 73–90 s p2 ${m(73, 90, 'p2')} p3 ${m(73, 90, 'p3')}`,
    );
    intact(f);
    assert.ok(m(1, 30, 'p1') > 8, 'p1 carries the data');
    for (const p of ['p2', 'p3']) {
      assert.equal(m(1, 30, p), 0, `${p} carries nothing while p1 works`);
      assert.equal(m(73, 90, p), 0, `${p} carries nothing once p1 is back`);
    }
    // While down, p1 carries only the timeout retransmissions probing it.
    assert.ok(m(31, 70, 'p1') < 0.05, 'p1 is down from 30 s to 70 s');
    assert.ok(m(32, 70, 'p2') + m(32, 70, 'p3') > 15, 'the others carry the data while p1 is down');
    assert.ok(back !== null && back <= 72, `p1 carried data again at ${back} s`);
  });

  it('a middlebox stripping MPTCP options: fallback from the handshake, and mid-stream', () => {
    for (const name of ['mptcp-fallback', 'mptcp-strip-midstream']) {
      const r = runScenario(load(name));
      const f = r.flows[0]!;
      const ev = f.events!.filter((e) => e.type === 'fallback');
      console.log(
        `${name}: completed ${f.completed}, ${f.bytesDelivered} B, ${f.goodputMbps} Mbit/s, fallback at ${ev.map((e) => `${e.t} s (${e.side})`).join(', ')}`,
      );
      assert.equal(f.fallback, true, `${name} fell back`);
      assert.equal(f.completed, true, `${name} delivered everything and closed cleanly`);
      intact(f);
    }
  });

  it('chaos: 200 seeds with path failures, loss, reordering and duplication deliver every byte once, in order', () => {
    const failures: string[] = [];
    let bytes = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const { scenario, size } = chaosScenario(seed);
      const r = runScenario(scenario);
      const f = r.flows[0]!;
      bytes += f.bytesDelivered;
      if (!f.completed || !f.integrity || f.bytesDelivered !== size)
        failures.push(
          `seed ${seed}: completed ${f.completed}, intact ${f.integrity}, ${f.bytesDelivered}/${size} B by ${r.simulatedMs} ms`,
        );
    }
    console.log(`chaos: 200 seeds, ${(bytes / 1e6).toFixed(1)} MB delivered, ${failures.length} failures`);
    assert.deepEqual(failures, []);
  });

  it('the pcap decodes in tshark with every DSN mapped, and inspect sees the same subflows and bytes', (t) => {
    if (!existsSync(TSHARK)) {
      t.skip('tshark is not installed (.ci/run installs it)');
      return;
    }
    const scenario = parseScenario({
      name: 'pcap',
      seed: 5,
      until: '20s',
      sample: '1s',
      links: {
        a: { rate: '20Mbps', delay: '10ms', queue: '20ms', loss: '0.5%' },
        b: { rate: '20Mbps', delay: '30ms', queue: '20ms' },
      },
      paths: { p1: ['a'], p2: ['b'] },
      flows: [{ protocol: 'mptcp', paths: ['p1', 'p2'], workload: { bulk: '5MB' } }],
    });
    const writer = new PcapWriter(LinkType.RAW);
    const r = runScenario(scenario, { capture: writer });
    assert.equal(r.flows[0]!.completed, true);
    const dir = mkdtempSync(join(tmpdir(), 'mptcp-pcap-'));
    try {
      const file = join(dir, 'transfer.pcap');
      const bytes = writer.toBytes();
      writeFileSync(file, bytes);
      const out = execFileSync(
        TSHARK,
        [
          '-r',
          file,
          '-o',
          'tcp.check_checksum:TRUE',
          '-o',
          'mptcp.analyze_mappings:TRUE',
          '-o',
          'mptcp.intersubflows_retransmission:TRUE',
          '-T',
          'fields',
          '-E',
          'separator=|',
          '-e',
          'tcp.stream',
          '-e',
          'mptcp.stream',
          '-e',
          'tcp.len',
          '-e',
          'tcp.srcport',
          '-e',
          '_ws.malformed',
          '-e',
          'tcp.checksum.status',
          '-e',
          'mptcp.dss.missing_mapping',
          '-e',
          'mptcp.related_mapping',
        ],
        { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
      );
      let malformed = 0;
      let badChecksum = 0;
      let unmapped = 0;
      let dataPackets = 0;
      const mptcpStreams = new Set<string>();
      const bytesPerStream = new Map<string, number>();
      for (const line of out.trim().split('\n')) {
        const [stream, mptcpStream, len, srcPort, bad, sum, missing, related] = line.split('|');
        if (bad) malformed++;
        if (sum === '0') badChecksum++;
        if (mptcpStream) mptcpStreams.add(mptcpStream);
        const n = Number(len);
        // Client-to-server payload: the server listens on 45000.
        if (n > 0 && srcPort !== '45000') {
          dataPackets++;
          if (missing || !related) unmapped++;
          bytesPerStream.set(stream!, (bytesPerStream.get(stream!) ?? 0) + n);
        }
      }
      const cap = decodeCaptureFile(bytes);
      assert.ok(!(cap instanceof DecodeError));
      const a = analyse(cap.segments);
      const conn = a.connections[0]!;
      const ours = conn.subflows.map((s) => s.bytes.fromClient).sort((x, y) => x - y);
      const theirs = [...bytesPerStream.values()].sort((x, y) => x - y);
      console.log(
        `pcap: ${dataPackets} data packets, ${malformed} malformed, ${badChecksum} bad checksums, ${unmapped} without a mapping; tshark ${mptcpStreams.size} MPTCP connection(s), bytes per subflow ${theirs.join('/')}; inspect ${a.connections.length} connection(s), ${ours.join('/')}`,
      );
      assert.equal(malformed, 0);
      assert.equal(badChecksum, 0);
      assert.equal(unmapped, 0, 'every data packet lies in a DSS mapping');
      assert.ok(dataPackets > 3000);
      assert.equal(mptcpStreams.size, 1);
      assert.equal(a.connections.length, 1);
      assert.deepEqual(ours, theirs, 'inspect and tshark count the same payload bytes per subflow');
      assert.equal(conn.streams.clientToServer.bytes, 5_000_000, 'inspect reassembles the whole stream');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
