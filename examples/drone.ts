/**
 * A drone's link to its ground station (the UAV paper's setting): a control stream pinned to the primary
 * path with primary-path-only mode, which fails over to the other paths when the primary stops working and
 * returns when it works again, beside a bulk video stream on the other paths, with the primary path only as
 * its backup. Control messages are echoed by the ground station, so the drone measures their latency.
 *
 *   node --import tsx examples/drone.ts          # over UDP on loopback (127.0.0.1 primary, 127.0.0.2 video)
 */
import type { MultipathConnection } from '../src/api/control.ts';
import { PATTERN_CHUNK_MAX, patternChunk } from '../src/cli/pattern.ts';
import { type Pair, udpPair } from './harness.ts';

const CONTROL = 0x43; // 'C'
const VIDEO = 0x56; // 'V'

export interface DroneOptions {
  primary: string;
  others: string[];
  /** A control message of `messageBytes` every `periodMs`, for `durationMs`; video as fast as it goes. */
  periodMs: number;
  messageBytes: number;
  durationMs: number;
  /** Times (ms from the start) at which to record how many bytes each subflow has carried. */
  marks?: number[];
  /** The camera's bit rate (Mbit/s); as fast as the paths go when left out. */
  videoMbps?: number;
}

export interface Snapshot {
  t: number;
  /** Bytes sent per local address, summed over that address's subflows. */
  control: Record<string, number>;
  video: Record<string, number>;
}

export interface DroneStats {
  sent: number;
  echoed: number;
  /** Latency of each echoed control message (ms, round trip). */
  latencies: number[];
  snapshots: Snapshot[];
}

/** The ground station: echoes control connections, swallows video ones (the first byte says which). */
export function groundStation(c: MultipathConnection): void {
  let kind = 0;
  c.onData((chunk) => {
    let body = chunk;
    if (kind === 0) {
      kind = chunk[0]!;
      body = chunk.subarray(1);
    }
    if (kind === CONTROL && body.length > 0) c.write(body);
  });
  c.onEnd(() => c.end());
}

function bytesByAddress(c: MultipathConnection): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of c.subflows()) out[s.local.address] = (out[s.local.address] ?? 0) + s.bytesSent;
  return out;
}

/** Applies the two policies as soon as each connection is established. */
export function configureDrone(
  control: MultipathConnection,
  video: MultipathConnection,
  o: DroneOptions,
): void {
  control.onEvent((e) => {
    if (e.type === 'established') control.setPrimaryPathOnly([o.primary]);
  });
  video.onEvent((e) => {
    if (e.type === 'established')
      video.setPriorityLists({
        active: o.others.map((local) => ({ local })),
        backup: [{ local: o.primary }],
      });
  });
}

/** Flies: telemetry on `control`, video on `video`; calls `done` when every control message came back. */
export function flyDrone(
  control: MultipathConnection,
  video: MultipathConnection,
  o: DroneOptions,
  done: (s: DroneStats) => void,
): void {
  configureDrone(control, video, o);
  const t0 = control.now();
  const stats: DroneStats = { sent: 0, echoed: 0, latencies: [], snapshots: [] };
  for (const t of o.marks ?? [])
    control.after(t, () =>
      stats.snapshots.push({ t, control: bytesByAddress(control), video: bytesByAddress(video) }),
    );
  // Control: a message is [u32 sequence][f64 send time in ms][padding].
  control.write(Uint8Array.of(CONTROL));
  const tick = () => {
    if (control.now() - t0 >= o.durationMs) {
      control.end();
      return;
    }
    const m = new Uint8Array(o.messageBytes);
    const v = new DataView(m.buffer);
    v.setUint32(0, stats.sent++);
    v.setFloat64(4, control.now());
    control.write(m);
    control.after(o.periodMs, tick);
  };
  tick();
  let echo = new Uint8Array(0);
  control.onData((chunk) => {
    const all = new Uint8Array(echo.length + chunk.length);
    all.set(echo);
    all.set(chunk, echo.length);
    let pos = 0;
    for (; pos + o.messageBytes <= all.length; pos += o.messageBytes) {
      const v = new DataView(all.buffer, pos, o.messageBytes);
      stats.echoed++;
      stats.latencies.push(control.now() - v.getFloat64(4));
    }
    echo = all.slice(pos);
  });
  control.onEnd(() => {
    stats.snapshots.push({
      t: control.now() - t0,
      control: bytesByAddress(control),
      video: bytesByAddress(video),
    });
    done(stats);
  });
  // Video: the camera's rate (or as much as the paths take) until the flight ends.
  video.write(Uint8Array.of(VIDEO));
  let offset = 0;
  const FRAME_MS = 20;
  const frame = o.videoMbps ? Math.round((o.videoMbps * 1e6 * FRAME_MS) / 8000) : 0;
  const stream = () => {
    while (control.now() - t0 < o.durationMs) {
      // A paced frame is written whole (it may exceed the high-water mark: the camera does not wait).
      let left = frame || 64 * 1024;
      let ok = true;
      while (left > 0) {
        const n = Math.min(64 * 1024, PATTERN_CHUNK_MAX, left);
        ok = video.write(patternChunk(offset, n));
        offset += n;
        left -= n;
      }
      if (frame) {
        video.after(FRAME_MS, stream);
        return;
      }
      if (!ok) return;
    }
    video.end();
  };
  if (!frame) video.onDrain(stream);
  stream();
}

export async function runDrone(
  pair: Pair,
  o: Omit<DroneOptions, 'primary' | 'others'>,
  cuts: { at: number; up: boolean }[] = [],
) {
  pair.serve(groundStation);
  const [primary, ...others] = pair.clientAddresses;
  const control = pair.connect();
  const video = pair.connect();
  for (const cut of cuts) control.after(cut.at, () => pair.setPathUp?.(0, cut.up));
  let stats: DroneStats | null = null;
  flyDrone(control, video, { ...o, primary: primary!, others }, (s) => {
    stats = s;
  });
  await pair.run(() => stats !== null, o.durationMs + 30_000);
  return stats!;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pair = await udpPair();
  const s = await runDrone(pair, { periodMs: 50, messageBytes: 200, durationMs: 5000, videoMbps: 40 });
  const sorted = [...s.latencies].sort((a, b) => a - b);
  console.log(
    `control: ${s.echoed}/${s.sent} echoed, latency median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`,
  );
  const last = s.snapshots.at(-1)!;
  console.log('control bytes by local address', last.control);
  console.log('video bytes by local address', last.video);
  await pair.close();
}
