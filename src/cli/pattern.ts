/**
 * The test payload of the client/server commands: the byte at stream offset i is i mod 251, the same as
 * ../shared/testbed/mptcp-bulk.py, so either side of a transfer (or a capture) can check every byte.
 */

const PERIOD = 251;
/** Whole periods, so a chunk starting at any offset is a view of this table. */
const TABLE = Uint8Array.from({ length: PERIOD * 1045 }, (_, i) => i % PERIOD);

/** `n` pattern bytes starting at stream offset `offset` (a view of a shared table; at most ~256 KB). */
export function patternChunk(offset: number, n: number): Uint8Array {
  const start = offset % PERIOD;
  if (start + n > TABLE.length)
    throw new RangeError(`pattern chunks are at most ${TABLE.length - PERIOD} bytes`);
  return TABLE.subarray(start, start + n);
}

/** Largest chunk patternChunk hands out for any offset. */
export const PATTERN_CHUNK_MAX = TABLE.length - PERIOD;

/** Checks a received stream against the pattern, chunk by chunk. */
export class PatternVerifier {
  bytes = 0;
  /** Stream offset of the first wrong byte, or -1. */
  firstError = -1;

  get intact(): boolean {
    return this.firstError < 0;
  }

  update(chunk: Uint8Array): void {
    if (this.firstError < 0) {
      let pos = 0;
      while (pos < chunk.length) {
        const n = Math.min(PATTERN_CHUNK_MAX, chunk.length - pos);
        const want = patternChunk(this.bytes + pos, n);
        const got = chunk.subarray(pos, pos + n);
        if (!Buffer.from(got.buffer, got.byteOffset, n).equals(want)) {
          for (let i = 0; i < n; i++)
            if (got[i] !== want[i]) {
              this.firstError = this.bytes + pos + i;
              break;
            }
          break;
        }
        pos += n;
      }
    }
    this.bytes += chunk.length;
  }
}
