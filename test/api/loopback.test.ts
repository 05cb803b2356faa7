import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { PatternVerifier } from '../../src/cli/pattern.ts';
import { connect, type MptcpSocket } from '../../src/index.ts';
import { LOOPBACK_PATHS, listen, sendPattern, within } from './support.ts';

const MB = 1_000_000;

test('100 MB client to server over two loopback subflows arrive intact', { timeout: 180_000 }, async () => {
  const total = 100 * MB;
  const verifier = new PatternVerifier();
  let serverSocket: MptcpSocket | null = null;
  const { server, port } = await listen((s) => {
    serverSocket = s;
    s.on('data', (d: Buffer) => verifier.update(d));
    s.on('end', () => s.end());
  });
  const c = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
  await once(c, 'connect');
  c.resume();
  await sendPattern(c, total);
  await within(once(c, 'close'), 150_000, 'client close');
  assert.equal(verifier.bytes, total);
  assert.ok(verifier.intact, `first wrong byte at ${verifier.firstError}`);
  const subs = c.subflows();
  assert.equal(subs.length, 2, 'a subflow per local address');
  assert.ok(
    subs.every((s) => s.bytesSent > 0),
    `both subflows carried data: ${subs.map((s) => s.bytesSent)}`,
  );
  assert.equal(c.bytesWritten, total);
  assert.ok(serverSocket !== null);
  server.close();
  await once(server, 'close');
});

test('100 MB server to client arrive intact, and the client sees end then close', {
  timeout: 180_000,
}, async () => {
  const total = 100 * MB;
  const { server, port } = await listen((s) => {
    s.resume();
    void sendPattern(s, total);
  });
  const c = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
  const verifier = new PatternVerifier();
  const events: string[] = [];
  c.on('data', (d: Buffer) => verifier.update(d));
  c.on('end', () => {
    events.push('end');
    c.end();
  });
  c.on('close', () => events.push('close'));
  await within(once(c, 'close'), 150_000, 'client close');
  assert.equal(verifier.bytes, total);
  assert.ok(verifier.intact, `first wrong byte at ${verifier.firstError}`);
  assert.equal(c.bytesRead, total);
  assert.deepEqual(events, ['end', 'close']);
  server.close();
  await once(server, 'close');
});

test('a subflow closed mid-transfer fails over to the other without losing a byte', {
  timeout: 120_000,
}, async () => {
  const total = 30 * MB;
  const verifier = new PatternVerifier();
  const { server, port } = await listen((s) => {
    s.on('data', (d: Buffer) => verifier.update(d));
    s.on('end', () => s.end());
  });
  const c = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
  const events: string[] = [];
  c.on('mptcp', (e) => events.push(e.type));
  await once(c, 'connect');
  c.resume();
  // Both subflows up before the cut.
  while (c.subflows().filter((s) => s.fullyEstablished).length < 2)
    await new Promise((r) => setTimeout(r, 20));
  let closedAt = -1;
  await sendPattern(c, total, (sent) => {
    if (closedAt < 0 && sent >= total / 3) {
      closedAt = sent;
      c.closeSubflow(1);
    }
  });
  await within(once(c, 'close'), 100_000, 'client close');
  assert.ok(
    verifier.intact && verifier.bytes === total,
    `${verifier.bytes} bytes, intact ${verifier.intact}`,
  );
  const first = c.subflows().find((s) => s.id === 1)!;
  assert.equal(first.attached, false);
  assert.equal(first.closedReason, 'closed by the application');
  assert.ok(events.includes('sub_closed'));
  const second = c.subflows().find((s) => s.id === 2)!;
  assert.ok(second.bytesSent > total / 2, `the remaining subflow carried ${second.bytesSent} bytes`);
  server.close();
  await once(server, 'close');
});
