import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { PATTERN_CHUNK_MAX, PatternVerifier, patternChunk } from '../../src/cli/pattern.ts';
import {
  type ConnectOptions,
  connect,
  MptcpApiError,
  MptcpSocket,
  type OnReadOptions,
  type ServerOptions,
} from '../../src/index.ts';
import { connectedPair, LOOPBACK_PATHS, listen, sendPattern, within } from './support.ts';

function* patternSource(total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; ) {
    const n = Math.min(64 * 1024, total - sent, PATTERN_CHUNK_MAX);
    yield Buffer.from(patternChunk(sent, n));
    sent += n;
  }
}

test('stream.pipeline into the socket and for-await reads on the other side', {
  timeout: 120_000,
}, async () => {
  const total = 20_000_000;
  const verifier = new PatternVerifier();
  let readDone!: Promise<void>;
  const { server, port } = await listen((s) => {
    readDone = (async () => {
      for await (const chunk of s) verifier.update(chunk as Buffer);
      s.end();
    })();
  });
  const c = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
  c.resume();
  await pipeline(Readable.from(patternSource(total)), c);
  await within(once(c, 'close'), 100_000, 'close');
  await readDone;
  assert.equal(verifier.bytes, total);
  assert.ok(verifier.intact);
  server.close();
});

test('back-pressure: write() returns false when the send buffer is full, then drain', {
  timeout: 120_000,
}, async () => {
  // The server does not read at first: the sender must see write() === false, and 'drain' once it does.
  // A small connection-level send buffer makes the limit quick to reach.
  const {
    server,
    client: c,
    peer,
  } = await connectedPair({}, { config: { sndBuf: 256 * 1024, rcvBuf: 64 * 1024, rcvBufMax: 256 * 1024 } });
  const chunk = Buffer.alloc(64 * 1024, 7);
  let writes = 0;
  while (c.write(chunk)) writes++;
  assert.ok(writes < 100, `write() returned true ${writes} times`);
  assert.ok(c.writableLength > 0);
  let received = 0;
  peer.on('data', (d: Buffer) => {
    received += d.length;
  });
  await within(once(c, 'drain'), 30_000, 'drain');
  c.end();
  c.resume();
  peer.on('end', () => peer.end());
  await within(once(c, 'close'), 30_000, 'close');
  assert.equal(received, (writes + 1) * chunk.length);
  server.close();
});

test('a paused reader stops the peer: what it holds stays within the receive window, and reading resumes', {
  timeout: 120_000,
}, async () => {
  const WINDOW_MAX = 1024 * 1024;
  const TOTAL = 48 * 1024 * 1024;
  const { server, client: c, peer } = await connectedPair({ config: { rcvBufMax: WINDOW_MAX } });
  const sending = sendPattern(c, TOTAL);
  await new Promise((r) => setTimeout(r, 2000));
  // Without read-side flow control the whole 48 MB would be waiting here by now.
  // It holds at most its high-water mark plus the receive window.
  const bound = WINDOW_MAX + peer.readableHighWaterMark;
  const held = peer.readableLength;
  assert.ok(held > 0 && held <= bound, `the paused reader holds ${held} bytes`);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(peer.readableLength <= bound, 'the peer stays stopped');
  const verifier = new PatternVerifier();
  peer.on('data', (d: Buffer) => verifier.update(d));
  peer.on('end', () => peer.end());
  await within(sending, 60_000, 'the sender finishing');
  c.resume();
  await within(once(c, 'close'), 60_000, 'close');
  assert.equal(verifier.bytes, TOTAL);
  assert.ok(verifier.intact);
  server.close();
});

test('one read() that empties a full buffer reopens the window (read() asks for more before it takes)', {
  timeout: 60_000,
}, async () => {
  const WINDOW_MAX = 256 * 1024;
  const TOTAL = 8 * 1024 * 1024;
  const { server, client: c, peer } = await connectedPair({ config: { rcvBufMax: WINDOW_MAX } });
  const sending = sendPattern(c, TOTAL);
  // Paused until the window is shut: the buffer holds about the window beyond the high-water mark.
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(peer.readableLength > peer.readableHighWaterMark, `held ${peer.readableLength}`);
  const verifier = new PatternVerifier();
  // All of it in one read; the next bytes come only if the window reopened after the buffer emptied.
  verifier.update(peer.read() as Buffer);
  const reading = (async () => {
    for await (const d of peer) verifier.update(d as Buffer);
    peer.end();
  })();
  await within(sending, 30_000, 'the sender finishing');
  c.resume();
  await within(reading, 30_000, 'the reader reaching the end');
  await within(once(c, 'close'), 30_000, 'close');
  assert.equal(verifier.bytes, TOTAL);
  assert.ok(verifier.intact);
  server.close();
});

test('read(n) for more than the receive window still gets its bytes (as net.Socket: the mark rises)', {
  timeout: 60_000,
}, async () => {
  const WINDOW_MAX = 1024 * 1024;
  const WANT = 3 * 1024 * 1024;
  const { server, client: c, peer } = await connectedPair({ config: { rcvBufMax: WINDOW_MAX } });
  await sendPattern(c, WANT);
  // One read of 3 MB: null until all of it is buffered, which needs more than the 1 MB window.
  const block = await within(
    new Promise<Buffer>((resolve) => {
      const tryRead = () => {
        const b = peer.read(WANT) as Buffer | null;
        if (b) resolve(b);
        else peer.once('readable', tryRead);
      };
      tryRead();
    }),
    30_000,
    'read(3 MB)',
  );
  const verifier = new PatternVerifier();
  verifier.update(block);
  assert.equal(verifier.bytes, WANT);
  assert.ok(verifier.intact);
  peer.resume();
  peer.on('end', () => peer.end());
  c.resume();
  await within(once(c, 'close'), 30_000, 'close');
  server.close();
});

test('a Writable sink paced by its own callback still receives everything (pipeline both ways)', {
  timeout: 60_000,
}, async () => {
  const total = 5_000_000;
  const { server, port } = await listen((s) => {
    // Echo server: the socket piped into itself.
    void pipeline(s, s).catch(() => {});
  });
  const c = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
  const verifier = new PatternVerifier();
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _e, cb) {
      verifier.update(chunk);
      setImmediate(cb);
    },
  });
  await Promise.all([pipeline(Readable.from(patternSource(total)), c), pipeline(c, sink)]);
  assert.equal(verifier.bytes, total);
  assert.ok(verifier.intact);
  server.close();
});

test('API misuse throws a typed error that says what to do', async () => {
  const c = connect({ port: 9, host: '127.0.0.1', addresses: ['127.0.0.1'] });
  c.on('error', () => {});
  assert.throws(
    () => c.subflows(),
    (e: unknown) => e instanceof MptcpApiError && /connect/.test((e as Error).message),
  );
  assert.throws(() => c.connect(9), MptcpApiError);
  assert.throws(() => connect({ port: 0 }), MptcpApiError);
  c.destroy();
});

/** A server that sends `total` pattern bytes to each client, then ends; `sending` settles when all was written. */
async function patternServer(total: number, options: ServerOptions = {}) {
  let sending: Promise<void> = Promise.resolve();
  const { server, port } = await listen((s) => {
    sending = sendPattern(s, total);
    s.resume();
  }, options);
  return { server, port, sending: () => sending };
}

/** A client over the two loopback paths that reads with onread. */
const onreadClient = (port: number, onread: OnReadOptions, options: Partial<ConnectOptions> = {}) =>
  connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS, ...options, onread });

test('onread: bytes come in the application buffer, a false return pauses (the peer stops), resume() goes on', {
  timeout: 120_000,
}, async () => {
  const TOTAL = 40 * 1024 * 1024;
  const WINDOW_MAX = 1024 * 1024;
  const buffer = Buffer.alloc(16 * 1024);
  const verifier = new PatternVerifier();
  let calls = 0;
  let wrongBuffer = 0;
  let pauseAt = 8 * 1024 * 1024;
  let pauses = 0;
  const { server, port, sending } = await patternServer(TOTAL, { config: { rcvBufMax: WINDOW_MAX } });
  const c = onreadClient(
    port,
    {
      buffer,
      callback: (n, b) => {
        calls++;
        if (b !== buffer || n > buffer.length) wrongBuffer++;
        verifier.update(b.subarray(0, n));
        if (verifier.bytes < pauseAt) return true;
        pauseAt = Number.POSITIVE_INFINITY;
        pauses++;
        return false;
      },
    },
    { config: { rcvBufMax: WINDOW_MAX } },
  );
  c.on('data', () => assert.fail("with onread no 'data' event comes"));
  c.on('end', () => c.end());
  await within(new Promise<void>((r) => c.once('pause', r)), 60_000, 'the pause');
  // Paused: the peer stops within the window, and what arrives meanwhile is held.
  await new Promise((r) => setTimeout(r, 1000));
  const stalled = verifier.bytes;
  assert.ok(stalled < TOTAL - WINDOW_MAX, `the reader had ${stalled} bytes when paused`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(verifier.bytes, stalled, 'nothing is handed over while paused');
  c.resume();
  await within(once(c, 'close'), 60_000, 'close');
  await sending();
  assert.equal(pauses, 1);
  assert.equal(wrongBuffer, 0);
  assert.equal(verifier.bytes, TOTAL);
  assert.ok(verifier.intact);
  assert.equal(c.bytesRead, TOTAL);
  assert.ok(calls >= TOTAL / buffer.length, `${calls} callbacks of at most 16 KB`);
  server.close();
});

test('onread with a bad buffer or callback throws a typed error', () => {
  assert.throws(
    () => connect({ port: 9, onread: { buffer: Buffer.alloc(0), callback: () => true } }),
    MptcpApiError,
  );
  assert.throws(
    () => connect({ port: 9, onread: { buffer: Buffer.alloc(8), callback: 1 as unknown as () => boolean } }),
    MptcpApiError,
  );
});

test('onread: a callback that throws resets the connection, and is not called again', {
  timeout: 60_000,
}, async () => {
  let peerError: Error | null = null;
  const { server, port } = await listen((s) => {
    s.on('error', (e) => {
      peerError = e;
    });
    sendPattern(s, 20 * 1024 * 1024).catch(() => {});
  });
  let calls = 0;
  let callsAfter = 0;
  let thrown = false;
  const c = onreadClient(port, {
    buffer: Buffer.alloc(4096),
    callback: () => {
      if (thrown) callsAfter++;
      if (++calls < 100) return true;
      thrown = true;
      throw new Error('application bug');
    },
  });
  const closed = new Promise((r) => c.once('close', r));
  const [err] = (await within(once(c, 'error'), 30_000, "the client's error")) as [Error];
  assert.equal(err.message, 'application bug');
  await within(closed, 30_000, "the client's close");
  const until = Date.now() + 10_000;
  while (peerError === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.ok(peerError !== null, 'the peer saw a reset, not a clean close');
  assert.equal(callsAfter, 0);
  server.close();
});

test("onread: paused on the last byte, 'end' waits for resume()", { timeout: 60_000 }, async () => {
  const TOTAL = 1_000_000;
  const { server, port } = await patternServer(TOTAL);
  let got = 0;
  const c = onreadClient(port, {
    buffer: Buffer.alloc(TOTAL),
    callback: (n: number) => {
      got += n;
      return got < TOTAL;
    },
  });
  let ended = false;
  c.on('end', () => {
    ended = true;
    c.end();
  });
  await within(once(c, 'pause'), 30_000, 'the pause on the last byte');
  // The peer's DATA_FIN arrives meanwhile; the end must wait.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(got, TOTAL);
  assert.equal(ended, false, "'end' came while paused");
  c.resume();
  await within(once(c, 'close'), 30_000, 'close');
  assert.ok(ended);
  server.close();
});

test('onread given to the MptcpSocket constructor, as net.Socket takes it', { timeout: 60_000 }, async () => {
  const TOTAL = 2_000_000;
  const { server, port } = await patternServer(TOTAL);
  const verifier = new PatternVerifier();
  const c = new MptcpSocket({
    onread: { buffer: () => Buffer.alloc(7000), callback: (n, b) => verifier.update(b.subarray(0, n)) },
  });
  c.on('end', () => c.end());
  c.connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
  await within(once(c, 'close'), 30_000, 'close');
  assert.equal(verifier.bytes, TOTAL);
  assert.ok(verifier.intact);
  server.close();
});
