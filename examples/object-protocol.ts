/**
 * The small request/response protocol the examples share: the client asks `GET <size>\n`, the server answers
 * with the object's length (8 bytes, big-endian, like an HTTP Content-Length) and that many bytes of the
 * i mod 251 pattern. Callback style throughout, so the same code runs in virtual time in the simulator.
 */
import type { MultipathConnection } from '../src/api/control.ts';
import { PATTERN_CHUNK_MAX, PatternVerifier, patternChunk } from '../src/cli/pattern.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Answers every request on `c` until the peer ends, then ends too. */
export function serveObjects(c: MultipathConnection): void {
  let pending = '';
  const jobs: number[] = [];
  let current: { size: number; sent: number } | null = null;
  let peerEnded = false;
  const pump = () => {
    for (;;) {
      if (current === null) {
        const size = jobs.shift();
        if (size === undefined) {
          if (peerEnded) c.end();
          return;
        }
        current = { size, sent: 0 };
        const head = new Uint8Array(8);
        new DataView(head.buffer).setBigUint64(0, BigInt(size));
        if (!c.write(head)) return;
      }
      while (current.sent < current.size) {
        const n = Math.min(64 * 1024, PATTERN_CHUNK_MAX, current.size - current.sent);
        const ok = c.write(patternChunk(current.sent, n));
        current.sent += n;
        if (!ok) return;
      }
      current = null;
    }
  };
  c.onDrain(pump);
  c.onData((chunk) => {
    pending += decoder.decode(chunk);
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const m = /^GET (\d+)$/.exec(pending.slice(0, nl));
      if (m) jobs.push(Number(m[1]));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    if (current === null) pump();
  });
  c.onEnd(() => {
    peerEnded = true;
    if (current === null) pump();
  });
}

export interface ObjectEvents {
  /** The length arrived (before any body byte). */
  onHeader?(size: number): void;
  /** Body bytes so far. */
  onProgress?(received: number, size: number): void;
  /** The whole object arrived; `intact` says whether it is the pattern. */
  onObject(size: number, intact: boolean): void;
}

/**
 * Reads responses from `c` one after the other and reports each through `events`; `request(size)` sends
 * a request (several may be outstanding).
 */
export function objectClient(c: MultipathConnection, events: ObjectEvents): { request(size: number): void } {
  let head = new Uint8Array(0);
  let body: { size: number; verifier: PatternVerifier } | null = null;
  c.onData((chunk) => {
    let pos = 0;
    while (pos < chunk.length) {
      if (body === null) {
        const need = 8 - head.length;
        const take = chunk.subarray(pos, pos + need);
        const h = new Uint8Array(head.length + take.length);
        h.set(head);
        h.set(take, head.length);
        head = h;
        pos += take.length;
        if (head.length < 8) return;
        const size = Number(new DataView(head.buffer).getBigUint64(0));
        head = new Uint8Array(0);
        body = { size, verifier: new PatternVerifier() };
        events.onHeader?.(size);
      }
      const b = body!;
      const n = Math.min(chunk.length - pos, b.size - b.verifier.bytes);
      b.verifier.update(chunk.subarray(pos, pos + n));
      pos += n;
      events.onProgress?.(b.verifier.bytes, b.size);
      if (b.verifier.bytes === b.size) {
        body = null;
        events.onObject(b.size, b.verifier.intact);
      }
    }
  });
  return {
    request(size: number) {
      c.write(encoder.encode(`GET ${size}\n`));
    },
  };
}
