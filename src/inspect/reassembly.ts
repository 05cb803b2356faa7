/** Data-level reassembly of one direction from placed chunks: unique bytes, gaps, and a SHA-256 of the stream. */
import { createHash } from 'node:crypto';

export interface Chunk {
  /** Stream offset of the first byte (0 = the first data byte of the direction). */
  offset: number;
  data: Uint8Array;
}

export interface StreamSummary {
  bytes: number;
  /** Holes as [start, end) stream offsets between 0 and the highest byte seen. */
  gaps: [number, number][];
  /** Bytes that arrived more than once (retransmissions, reinjections, redundant copies). */
  duplicateBytes: number;
  /** Copies of the same offset whose bytes differ (should never happen). */
  conflictingBytes: number;
  sha256: string;
}

/** Sorts and merges chunks; the hash covers the unique bytes in stream order (gaps skipped). */
export function reassemble(chunks: Chunk[]): StreamSummary {
  const sorted = [...chunks].sort((a, b) => a.offset - b.offset || b.data.length - a.data.length);
  const hash = createHash('sha256');
  const gaps: [number, number][] = [];
  let end = 0;
  let bytes = 0;
  let duplicateBytes = 0;
  let conflictingBytes = 0;
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    const cEnd = c.offset + c.data.length;
    if (c.offset > end) gaps.push([end, c.offset]);
    if (c.offset < end) {
      const overlapEnd = Math.min(end, cEnd);
      duplicateBytes += overlapEnd - c.offset;
      conflictingBytes += countConflicts(sorted, i, overlapEnd);
    }
    if (cEnd > end) {
      const from = Math.max(end, c.offset) - c.offset;
      hash.update(c.data.subarray(from));
      bytes += c.data.length - from;
      end = cEnd;
    }
  }
  return { bytes, gaps, duplicateBytes, conflictingBytes, sha256: hash.digest('hex') };
}

/** A chunk is one segment's payload, so no earlier chunk that overlaps starts further back than this. */
const MAX_CHUNK = 65536;

/** Compares an overlapping chunk with the earlier chunks that cover the same offsets. */
function countConflicts(sorted: Chunk[], i: number, overlapEnd: number): number {
  const c = sorted[i]!;
  let conflicts = 0;
  for (let j = i - 1; j >= 0 && sorted[j]!.offset > c.offset - MAX_CHUNK; j--) {
    const o = sorted[j]!;
    const from = Math.max(o.offset, c.offset);
    const to = Math.min(o.offset + o.data.length, overlapEnd);
    for (let x = from; x < to; x++) if (o.data[x - o.offset] !== c.data[x - c.offset]) conflicts++;
  }
  return conflicts;
}
