/**
 * The two halves of a client/server test over one MptcpSocket: sending the i mod 251 pattern for a time or a
 * number of bytes (with write back-pressure), and receiving and verifying it. Each resolves with its
 * PerfResult once the connection has closed.
 */
import type { MptcpSocket } from '../api/socket.ts';
import type { MptcpEvent } from '../mptcp/events.ts';
import { PatternVerifier, patternChunk } from './pattern.ts';
import {
  IntervalMeter,
  type IntervalSample,
  type PerfResult,
  round2,
  subflowReports,
} from './perf-report.ts';

const CHUNK = 128 * 1024;

export interface FlowOptions {
  /** Sampling interval in seconds (0: none). */
  interval: number;
  onInterval?: (s: IntervalSample) => void;
  /** Live progress (bytes so far, seconds), a few times per second. */
  onProgress?: (bytes: number, seconds: number) => void;
}

export interface TimedEvent {
  t: number;
  event: MptcpEvent;
}

export interface FlowResult extends PerfResult {
  events: TimedEvent[];
  /** CPU time this process used during the test (user + system), to tell a CPU-bound run from a path-bound one. */
  cpuSeconds: number;
  /** The endpoint's TCP counters that are not zero at the end (Linux's nstat names: timeouts, recoveries, undos). */
  tcpCounters: Record<string, number>;
  error?: string;
}

const cpuSince = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return round2((c.user + c.system) / 1e6);
};

/** Collects the connection's engine events with their time since `t0`. */
function recordEvents(s: MptcpSocket, t0: number): TimedEvent[] {
  const out: TimedEvent[] = [];
  s.on('mptcp', (event: MptcpEvent) => out.push({ t: round2((performance.now() - t0) / 1000), event }));
  return out;
}

function closed(s: MptcpSocket): Promise<Error | null> {
  return new Promise((resolve) => {
    let error: Error | null = null;
    s.on('error', (e) => {
      error = e;
    });
    if (s.destroyed) resolve(null);
    else s.once('close', () => resolve(error));
  });
}

function startSampling(meter: IntervalMeter, o: FlowOptions, bytes: () => number, t0: number) {
  const timers: NodeJS.Timeout[] = [];
  if (o.interval > 0)
    timers.push(
      setInterval(() => {
        const s = meter.sample();
        o.onInterval?.(s);
      }, o.interval * 1000),
    );
  if (o.onProgress)
    timers.push(setInterval(() => o.onProgress!(bytes(), (performance.now() - t0) / 1000), 250));
  return () => {
    for (const t of timers) clearInterval(t);
  };
}

/**
 * Sends the pattern (after `prefixLength` bytes already written, e.g. the request header) until `limit`
 * says stop, then ends the stream and waits for the close.
 */
export async function sendPattern(
  s: MptcpSocket,
  limit: { bytes?: number; seconds?: number },
  o: FlowOptions,
  prefixLength = 0,
): Promise<FlowResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const events = recordEvents(s, t0);
  const acked = () => {
    try {
      return Math.max(0, s.info().sndUna - prefixLength);
    } catch {
      return 0;
    }
  };
  const meter = new IntervalMeter(s, true, acked, t0);
  const stop = startSampling(meter, o, acked, t0);
  const done = closed(s);
  let sent = 0;
  let ended = false;
  const deadline = limit.seconds !== undefined ? t0 + limit.seconds * 1000 : Number.POSITIVE_INFINITY;
  const finish = () => {
    if (ended) return;
    ended = true;
    s.end();
  };
  const pump = () => {
    while (!ended && !s.destroyed) {
      if (performance.now() >= deadline) return finish();
      const n = limit.bytes !== undefined ? Math.min(CHUNK, limit.bytes - sent) : CHUNK;
      if (n <= 0) return finish();
      const ok = s.write(patternChunk(sent, n));
      sent += n;
      if (!ok) return;
    }
  };
  s.on('drain', pump);
  const timer = Number.isFinite(deadline) ? setTimeout(finish, deadline - t0) : null;
  pump();
  // The peer ends its side after ours; read and drop whatever it sends.
  s.resume();
  const error = await done;
  if (timer) clearTimeout(timer);
  stop();
  finalSample(meter, o, t0);
  const seconds = (performance.now() - t0) / 1000;
  const bytes = error ? acked() : sent;
  return {
    bytes,
    seconds: round2(seconds),
    goodputMbps: round2((bytes * 8) / seconds / 1e6),
    integrity: null,
    fallback: fallbackOf(s),
    subflows: safeSubflows(s),
    intervals: meter.samples,
    events,
    cpuSeconds: cpuSince(cpu0),
    tcpCounters: nonZeroTcpCounters(s),
    ...(error ? { error: error.message } : {}),
  };
}

/** Receives until the peer ends, verifying the pattern; `initial` holds bytes already read after a header. */
export async function receivePattern(
  s: MptcpSocket,
  o: FlowOptions,
  initial?: Uint8Array,
): Promise<FlowResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const events = recordEvents(s, t0);
  const verifier = new PatternVerifier();
  if (initial && initial.length > 0) verifier.update(initial);
  const meter = new IntervalMeter(s, false, () => verifier.bytes, t0);
  const stop = startSampling(meter, o, () => verifier.bytes, t0);
  const done = closed(s);
  let endedAt = 0;
  s.on('data', (d: Buffer) => verifier.update(d));
  s.on('end', () => {
    endedAt = performance.now();
    s.end();
  });
  const error = await done;
  stop();
  finalSample(meter, o, t0);
  const seconds = ((endedAt || performance.now()) - t0) / 1000;
  return {
    bytes: verifier.bytes,
    seconds: round2(seconds),
    goodputMbps: round2((verifier.bytes * 8) / seconds / 1e6),
    integrity: verifier.intact && !error,
    fallback: fallbackOf(s),
    subflows: safeSubflows(s),
    intervals: meter.samples,
    events,
    cpuSeconds: cpuSince(cpu0),
    tcpCounters: nonZeroTcpCounters(s),
    ...(error ? { error: error.message } : {}),
  };
}

/** The partial interval at the end, unless the last sample was just taken. */
function finalSample(meter: IntervalMeter, o: FlowOptions, t0: number): void {
  const last = meter.samples.at(-1);
  if (o.interval > 0 && (last === undefined || last.t < (performance.now() - t0) / 1000 - 0.1)) {
    const s = meter.sample();
    o.onInterval?.(s);
  }
}

function fallbackOf(s: MptcpSocket): boolean {
  try {
    return s.info().fallback;
  } catch {
    return false;
  }
}

function nonZeroTcpCounters(s: MptcpSocket): Record<string, number> {
  try {
    return Object.fromEntries(Object.entries(s.tcpCounters).filter(([, v]) => v !== 0));
  } catch {
    return {};
  }
}

function safeSubflows(s: MptcpSocket) {
  try {
    return subflowReports(s);
  } catch {
    return [];
  }
}
