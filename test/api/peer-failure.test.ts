import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type MptcpSocket, type MptcpSocketError } from '../../src/index.ts';
import { LOOPBACK_PATHS, listen, within } from './support.ts';

const PEER = fileURLToPath(new URL('./fixtures/peer.ts', import.meta.url));

async function peerProcess(role: 'sink' | 'source'): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, role], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, port: JSON.parse(line.toString()).port as number };
}

/** Resolves with the error and the time from `t0` to 'close'. */
async function failure(s: MptcpSocket, t0: number): Promise<{ error: MptcpSocketError | null; ms: number }> {
  let error: MptcpSocketError | null = null;
  s.on('error', (e) => {
    error = e as MptcpSocketError;
  });
  // events.once would reject on 'error': wait for 'close' alone.
  await new Promise((resolve) => s.once('close', resolve));
  return { error, ms: performance.now() - t0 };
}

test('the peer process killed mid-upload: error and close within the user timeout, no hang', {
  timeout: 60_000,
}, async () => {
  const { child, port } = await peerProcess('sink');
  const s = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS, userTimeoutMs: 2000 });
  await once(s, 'connect');
  const chunk = Buffer.alloc(64 * 1024, 1);
  const pump = () => {
    while (!s.destroyed && s.write(chunk));
  };
  s.on('drain', pump);
  pump();
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  child.kill('SIGKILL');
  const r = await within(failure(s, t0), 20_000, 'close after the kill');
  assert.equal(r.error?.code, 'ETIMEDOUT');
  assert.ok(r.ms < 2000 + 3000, `closed ${r.ms.toFixed(0)} ms after the kill`);
});

test('the peer process killed mid-download: keep-alives and the user timeout end it', {
  timeout: 60_000,
}, async () => {
  const { child, port } = await peerProcess('source');
  const s = connect({
    port,
    host: '127.0.0.1',
    addresses: LOOPBACK_PATHS,
    userTimeoutMs: 2000,
    keepAliveIdleMs: 1000,
  });
  s.resume();
  await once(s, 'connect');
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(s.bytesRead > 0);
  const t0 = performance.now();
  child.kill('SIGKILL');
  const r = await within(failure(s, t0), 30_000, 'close after the kill');
  assert.equal(r.error?.code, 'ETIMEDOUT');
  // Keep-alive: 1 s idle + 3 probes 1 s apart (the engine's subflow keep-alive), then 2 s without a working
  // subflow.
  assert.ok(r.ms < 1000 + 3 * 1000 + 2000 + 3000, `closed ${r.ms.toFixed(0)} ms after the kill`);
});

test('the peer resets mid-transfer: the other side gets an error and a close', {
  timeout: 60_000,
}, async () => {
  let serverSide: MptcpSocket | null = null;
  const { server, port } = await listen((s) => {
    serverSide = s;
    s.on('error', () => {});
    s.resume();
  });
  const s = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS, userTimeoutMs: 2000 });
  await once(s, 'connect');
  const chunk = Buffer.alloc(64 * 1024, 1);
  const pump = () => {
    while (!s.destroyed && s.write(chunk));
  };
  s.on('drain', pump);
  pump();
  while (serverSide === null) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  (serverSide as MptcpSocket).resetAndDestroy();
  const r = await within(failure(s, t0), 20_000, 'close after the reset');
  // MP_FASTCLOSE on the reset closes the connection at once (not after the user timeout).
  assert.equal(r.error?.code, 'ECONNRESET');
  assert.ok(r.ms < 1500, `closed ${r.ms.toFixed(0)} ms after the reset`);
  server.close();
});
