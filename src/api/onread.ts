/**
 * net.Socket's `onread` option: received bytes are copied into memory the application gives and handed to its
 * callback, instead of being pushed through the stream as a fresh Buffer per chunk. At hundreds of megabytes a
 * second those fresh Buffers are what the receiver spends its time on (V8 collects external memory with full
 * collections); with `onread` the only copy is the one into the application's buffer.
 */
import { MptcpApiError } from './errors.ts';

const EMPTY = new Uint8Array(0);

export interface OnReadOptions {
  /** The memory incoming bytes are copied into, or a function that returns it (called for every piece). */
  buffer: Uint8Array | (() => Uint8Array);
  /** Called for every piece with the number of bytes copied into `buffer`; false pauses the socket. */
  callback: (bytesWritten: number, buffer: Uint8Array) => unknown;
}

export function checkOnRead(o: OnReadOptions): void {
  const { buffer, callback } = o as Partial<OnReadOptions>;
  if (typeof callback !== 'function')
    throw new MptcpApiError('onread.callback must be a function (bytesWritten, buffer) => boolean | void');
  if (typeof buffer !== 'function' && !(buffer instanceof Uint8Array && buffer.length > 0))
    throw new MptcpApiError(
      'onread.buffer must be a non-empty Buffer or Uint8Array, or a function returning one',
    );
}

/**
 * Copies received bytes into the application's buffer; holds copies of what arrives while it is paused. After
 * the callback or `buffer()` threw, it takes nothing more: the socket is then reset, since bytes were lost.
 */
export class UserBufferReader {
  /** Bytes not yet handed over because the application paused, oldest first (copies), from `head` on. */
  private held: Uint8Array[] = [];
  private head = 0;
  heldBytes = 0;
  private failed = false;

  constructor(
    private readonly options: OnReadOptions,
    private readonly isPaused: () => boolean,
    private readonly pause: () => void,
  ) {}

  /** Bytes in order, valid only during the call (they may be the transport's lent memory). */
  take(bytes: Uint8Array): void {
    if (this.failed) return;
    if (this.heldBytes > 0 || this.isPaused()) this.hold(bytes, false);
    else this.guarded(bytes);
  }

  /** The application resumed: hands over what was held until it pauses again. */
  drain(): void {
    while (!this.failed && this.head < this.held.length && !this.isPaused()) {
      const b = this.held[this.head]!;
      this.held[this.head++] = EMPTY;
      this.heldBytes -= b.length;
      this.guarded(b);
    }
    if (this.head === this.held.length) this.clear();
  }

  /** Drops what is held (the socket is gone). */
  clear(): void {
    this.held = [];
    this.head = 0;
    this.heldBytes = 0;
  }

  private guarded(bytes: Uint8Array): void {
    try {
      this.fill(bytes);
    } catch (e) {
      this.failed = true;
      this.clear();
      throw e;
    }
  }

  /** Copies `bytes` into the application's memory piece by piece; what follows a pause is held, first in line. */
  private fill(bytes: Uint8Array): void {
    const { buffer, callback } = this.options;
    let pos = 0;
    while (pos < bytes.length) {
      const into = typeof buffer === 'function' ? buffer() : buffer;
      if (!(into instanceof Uint8Array) || into.length === 0)
        throw new MptcpApiError('onread.buffer() must return a non-empty Buffer or Uint8Array');
      const n = Math.min(into.length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      if (callback(n, into) === false) {
        this.pause();
        if (pos < bytes.length) this.hold(bytes.subarray(pos), true);
        return;
      }
    }
  }

  private hold(bytes: Uint8Array, first: boolean): void {
    const copy = new Uint8Array(bytes); // a copy (a Buffer's slice() would be a view of lent memory)
    // The rest of a piece the application paused in goes before everything held, which comes after it.
    if (first && this.head > 0) this.held[--this.head] = copy;
    else if (first) this.held.unshift(copy);
    else this.held.push(copy);
    this.heldBytes += copy.length;
  }
}
