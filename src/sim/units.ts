/**
 * Quantities in scenario files (SCENARIOS.md "Units"): strings with a unit or plain numbers in base units.
 * Every parser names the field's path in its error so a user can find the bad value at once.
 */
import type { Duration } from '../util/time.ts';

/** An invalid scenario: `path` is the field (`links.wifi.rate`), the message says what was expected. */
export class ScenarioError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(path === '' ? detail : `${path}: ${detail}`);
    this.name = 'ScenarioError';
  }
}

/** How a value is shown in an error: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const QUANTITY = /^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-zµ/%]+)\s*$/;

/** Splits "1.5Gbps" into 1.5 and "Gbps"; null when the text is not a number followed by a unit. */
function splitQuantity(text: string): { value: number; unit: string } | null {
  const m = QUANTITY.exec(text);
  if (m === null) return null;
  const value = Number(m[1]);
  return Number.isFinite(value) ? { value, unit: m[2]! } : null;
}

/** A finite, non-negative number (plain numbers are base units). */
function plainNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function withUnit(value: unknown, units: Record<string, number>): number | null {
  const plain = plainNumber(value);
  if (plain !== null) return plain;
  if (typeof value !== 'string') return null;
  const q = splitQuantity(value);
  if (q === null) return null;
  const factor = units[q.unit];
  return factor === undefined ? null : q.value * factor;
}

// Bits per second. Byte rates ("4MB/s") are multiplied by 8.
const RATE_UNITS: Record<string, number> = {
  bps: 1,
  'bit/s': 1,
  kbps: 1e3,
  Kbps: 1e3,
  'kbit/s': 1e3,
  Mbps: 1e6,
  'Mbit/s': 1e6,
  Gbps: 1e9,
  'Gbit/s': 1e9,
  'B/s': 8,
  'kB/s': 8e3,
  'KB/s': 8e3,
  'MB/s': 8e6,
  'GB/s': 8e9,
  'KiB/s': 8 * 1024,
  'MiB/s': 8 * 1024 ** 2,
  'GiB/s': 8 * 1024 ** 3,
};

// Microseconds.
const DURATION_UNITS: Record<string, number> = { us: 1, µs: 1, ms: 1e3, s: 1e6, min: 60e6 };

// Bytes; KB = 1000 and KiB = 1024 as SCENARIOS.md says.
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

/** A rate in bits/s: "100Mbps", "1.5Gbps", "4MB/s" (bytes), "800kbps", or bits/s as a number. */
export function parseRate(value: unknown, path: string): number {
  const r = withUnit(value, RATE_UNITS);
  if (r === null) throw new ScenarioError(path, `expected a rate like "100Mbps", got ${show(value)}`);
  return r;
}

/** A duration in integer µs: "10ms", "2.5s", "500us", or µs as a number. */
export function parseDuration(value: unknown, path: string): Duration {
  const d = withUnit(value, DURATION_UNITS);
  if (d === null) throw new ScenarioError(path, `expected a duration like "10ms", got ${show(value)}`);
  return Math.round(d);
}

/** A size in whole bytes: "64KB" (64000), "10MiB", "1448B", or bytes as a number. */
export function parseSize(value: unknown, path: string): number {
  const s = withUnit(value, SIZE_UNITS);
  if (s === null) throw new ScenarioError(path, `expected a size like "64KB", got ${show(value)}`);
  if (!Number.isInteger(s))
    throw new ScenarioError(path, `expected a whole number of bytes, got ${show(value)}`);
  return s;
}

/** A probability in [0, 1]: "1%" or a fraction such as 0.01. */
export function parseFraction(value: unknown, path: string): number {
  let f: number | null = null;
  if (typeof value === 'number' && Number.isFinite(value)) f = value;
  else if (typeof value === 'string') {
    const q = splitQuantity(value);
    if (q !== null && q.unit === '%') f = q.value / 100;
  }
  if (f === null) throw new ScenarioError(path, `expected a share like "1%" or 0.01, got ${show(value)}`);
  if (f < 0 || f > 1)
    throw new ScenarioError(path, `expected a share between 0% and 100%, got ${show(value)}`);
  return f;
}

/** A drop-tail queue limit: packets, bytes or time of queued transmission, as the link model takes it. */
export interface QueueLimit {
  packets?: number;
  bytes?: number;
  time?: Duration;
}

/** A queue limit: "100pkt", "50ms" (time at the link's rate), "64KB", or packets as a number. */
export function parseQueue(value: unknown, path: string): QueueLimit {
  const expected = `expected a queue limit like "100pkt", "50ms" or "64KB", got ${show(value)}`;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1) throw new ScenarioError(path, expected);
    return { packets: value };
  }
  if (typeof value !== 'string') throw new ScenarioError(path, expected);
  const q = splitQuantity(value);
  if (q === null) throw new ScenarioError(path, expected);
  if (q.unit === 'pkt' || q.unit === 'pkts' || q.unit === 'packets') {
    if (!Number.isInteger(q.value) || q.value < 1)
      throw new ScenarioError(path, `expected a whole number of packets (at least 1), got ${show(value)}`);
    return { packets: q.value };
  }
  const time = DURATION_UNITS[q.unit];
  if (time !== undefined) {
    const t = Math.round(q.value * time);
    if (t < 1) throw new ScenarioError(path, `expected a queue time of at least 1us, got ${show(value)}`);
    return { time: t };
  }
  if (SIZE_UNITS[q.unit] !== undefined) {
    const bytes = parseSize(value, path);
    if (bytes < 1) throw new ScenarioError(path, `expected a queue of at least 1 byte, got ${show(value)}`);
    return { bytes };
  }
  throw new ScenarioError(path, expected);
}
