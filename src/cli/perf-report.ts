/**
 * What the client and server commands report: per-interval throughput and RTT per subflow (the timeline),
 * and the final summary, as text for people and as the JSON object of the issue for programs.
 */
import type { MptcpSocket } from '../api/socket.ts';

export interface SubflowReport {
  id: number;
  local: string;
  remote: string;
  backup: boolean;
  bytesSent: number;
  bytesReceived: number;
  srttMs: number;
}

export interface IntervalSubflow {
  id: number;
  local: string;
  remote: string;
  mbps: number;
  srttMs: number;
  /** Congestion window at the end of the interval, bytes (iperf3's Cwnd). */
  cwnd: number;
  /** Segments retransmitted during the interval (iperf3's Retr): losses, timeouts and spurious repairs. */
  retrans: number;
  /** Established and not closed at the end of the interval. */
  up: boolean;
}

export interface IntervalSample {
  /** Seconds since the test started, at the start and the end of the interval. */
  from: number;
  t: number;
  mbps: number;
  subflows: IntervalSubflow[];
}

export interface PerfResult {
  bytes: number;
  seconds: number;
  goodputMbps: number;
  /** Pattern verified by this side when it received; null when the other side received. */
  integrity: boolean | null;
  fallback: boolean;
  subflows: SubflowReport[];
  intervals: IntervalSample[];
}

const endpoint = (e: { address: string; port: number }) =>
  e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;

export function subflowReports(s: MptcpSocket): SubflowReport[] {
  return s.subflows().map((f) => ({
    id: f.id,
    local: endpoint(f.local),
    remote: endpoint(f.remote),
    backup: f.backup.local || f.backup.remote,
    bytesSent: f.bytesSent,
    bytesReceived: f.bytesReceived,
    srttMs: Math.round(f.info.srtt / 10) / 100,
  }));
}

/** Samples a connection at each interval: connection goodput and each subflow's share and RTT. */
export class IntervalMeter {
  readonly samples: IntervalSample[] = [];
  private lastT: number;
  private lastBytes = 0;
  private readonly lastPerSubflow = new Map<number, number>();
  private readonly lastRetrans = new Map<number, number>();

  constructor(
    private readonly socket: MptcpSocket,
    /** Which way payload goes from this side. */
    private readonly sending: boolean,
    /** Bytes of the connection so far (acknowledged when sending, read when receiving). */
    private readonly bytes: () => number,
    private readonly t0: number,
  ) {
    this.lastT = t0;
  }

  sample(now = performance.now()): IntervalSample {
    const dt = Math.max(1e-6, (now - this.lastT) / 1000);
    const total = this.bytes();
    const subflows: IntervalSubflow[] = [];
    for (const f of this.socket.subflows()) {
      const b = this.sending ? f.bytesSent : f.bytesReceived;
      const before = this.lastPerSubflow.get(f.id) ?? 0;
      this.lastPerSubflow.set(f.id, b);
      const retrans = f.info.totalRetrans;
      const retransBefore = this.lastRetrans.get(f.id) ?? 0;
      this.lastRetrans.set(f.id, retrans);
      if (!f.attached && b === before) continue;
      subflows.push({
        id: f.id,
        local: f.local.address,
        remote: f.remote.address,
        mbps: round2(((b - before) * 8) / dt / 1e6),
        srttMs: Math.round(f.info.srtt / 10) / 100,
        cwnd: f.info.cwnd,
        retrans: retrans - retransBefore,
        up: f.attached && (f.fullyEstablished || f.initial),
      });
    }
    const s: IntervalSample = {
      from: round2((this.lastT - this.t0) / 1000),
      t: round2((now - this.t0) / 1000),
      mbps: round2(((total - this.lastBytes) * 8) / dt / 1e6),
      subflows,
    };
    this.lastT = now;
    this.lastBytes = total;
    this.samples.push(s);
    return s;
  }
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

const kib = (bytes: number) => `${Math.round(bytes / 1024)}K`;

export function formatInterval(s: IntervalSample): string {
  const parts = s.subflows.map(
    (f) =>
      `sf${f.id} ${f.local}>${f.remote} ${f.mbps.toFixed(1).padStart(7)} Mbit/s ${f.srttMs.toFixed(1).padStart(6)} ms cwnd ${kib(f.cwnd)} retr ${f.retrans}${f.up ? '' : ' (down)'}`,
  );
  return `[${s.from.toFixed(1).padStart(5)}-${s.t.toFixed(1).padStart(5)} s] ${s.mbps.toFixed(1).padStart(8)} Mbit/s  ${parts.join(' | ')}`;
}

export function formatSummary(who: string, r: PerfResult): string {
  const lines = [
    `${who}: ${r.bytes} bytes in ${r.seconds.toFixed(2)} s = ${r.goodputMbps.toFixed(1)} Mbit/s` +
      (r.integrity === null ? '' : r.integrity ? ', pattern verified' : ', PATTERN MISMATCH') +
      (r.fallback ? ' (fell back to TCP)' : ''),
  ];
  for (const f of r.subflows)
    lines.push(
      `  subflow ${f.id} ${f.local} -> ${f.remote}${f.backup ? ' backup' : ''}: sent ${f.bytesSent} B, received ${f.bytesReceived} B, srtt ${f.srttMs} ms`,
    );
  return lines.join('\n');
}

/** The JSON object of the issue (plus the timeline): one per test. */
export function resultJson(r: PerfResult): string {
  return JSON.stringify(r);
}
