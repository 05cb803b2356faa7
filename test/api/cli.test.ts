import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyse } from '../../src/inspect/connections.ts';
import { decodeCaptureFile } from '../../src/inspect/packets.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { MALFORMED_OR_BAD_CHECKSUM, TSHARK, tsharkExpert } from '../support/tshark.ts';

const BIN = new URL('../../bin/mptcp-ts', import.meta.url).pathname;

function run(args: string[], input?: Buffer): ChildProcess {
  const c = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  if (input) c.stdin!.end(input);
  else c.stdin!.end();
  return c;
}

async function output(
  c: ChildProcess,
): Promise<{ code: number; stdout: string; raw: Buffer; stderr: string }> {
  const out: Buffer[] = [];
  let stderr = '';
  c.stdout!.on('data', (d: Buffer) => out.push(d));
  c.stderr!.on('data', (d) => {
    stderr += d;
  });
  const [code] = (await once(c, 'close')) as [number];
  const raw = Buffer.concat(out);
  return { code, stdout: raw.toString(), raw, stderr };
}

/** Starts `server --json --once` on a free port; resolves with the port and the process. */
async function server(
  extra: string[] = [],
): Promise<{ proc: ChildProcess; port: number; out: ReturnType<typeof output> }> {
  const proc = run(['server', '--port', '0', '--addresses', '127.0.0.1', '--once', '--json', ...extra]);
  const out = output(proc);
  return { proc, port: await portFrom(proc), out };
}

/** The port a command prints on stderr ('... port N'); reads without consuming the stream for others. */
function portFrom(proc: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let err = '';
    const onData = (d: Buffer) => {
      err += d;
      const m = /port (\d+)/.exec(err);
      if (!m) return;
      proc.stderr!.off('data', onData);
      resolve(Number(m[1]));
    };
    proc.stderr!.on('data', onData);
    proc.once('close', () => reject(new Error(`no port printed: ${err}`)));
  });
}

const LOCAL = ['--local', '127.0.0.1,127.0.0.2'];

test('client --bytes --json: the server verifies the pattern, both print the JSON of the issue', {
  timeout: 120_000,
}, async () => {
  const s = await server();
  const c = await output(
    run(['client', '127.0.0.1', '--port', String(s.port), ...LOCAL, '--bytes', '20M', '--json']),
  );
  assert.equal(c.code, 0, c.stderr);
  const cr = JSON.parse(c.stdout);
  for (const k of ['bytes', 'seconds', 'goodputMbps', 'integrity', 'fallback', 'subflows'])
    assert.ok(k in cr, k);
  assert.equal(cr.bytes, 20_000_000);
  assert.equal(cr.integrity, null, 'the client sent: the server verifies');
  assert.equal(cr.fallback, false);
  assert.equal(cr.subflows.length, 2);
  for (const f of cr.subflows)
    for (const k of ['id', 'local', 'remote', 'backup', 'bytesSent', 'bytesReceived', 'srttMs'])
      assert.ok(k in f, k);
  const so = await s.out;
  assert.equal(so.code, 0, so.stderr);
  const sr = JSON.parse(so.stdout.trim());
  assert.equal(sr.bytes, 20_000_000);
  assert.equal(sr.integrity, true);
});

test('client --reverse: the server sends, the client verifies', { timeout: 120_000 }, async () => {
  const s = await server();
  const c = await output(
    run(['client', '127.0.0.1', '--port', String(s.port), ...LOCAL, '--bytes', '10M', '--reverse', '--json']),
  );
  assert.equal(c.code, 0, c.stderr);
  const cr = JSON.parse(c.stdout);
  assert.equal(cr.bytes, 10_000_000);
  assert.equal(cr.integrity, true);
  assert.ok(cr.intervals.length >= 1);
  // The receiving client samples its own subflows: their windows (of ACKs it sends) and no retransmissions.
  for (const f of cr.intervals.flatMap((x: { subflows: unknown[] }) => x.subflows)) {
    assert.ok(f.cwnd > 0, `cwnd ${f.cwnd}`);
    assert.equal(f.retrans, 0);
  }
  assert.equal((await s.out).code, 0);
});

test('client --time prints intervals per subflow and a summary', { timeout: 60_000 }, async () => {
  const s = await server();
  const c = await output(run(['client', '127.0.0.1', '--port', String(s.port), ...LOCAL, '--time', '2']));
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /connected to 127\.0\.0\.1/);
  assert.match(c.stdout, /sf1 127\.0\.0\.1>127\.0\.0\.1 +[\d.]+ Mbit\/s +[\d.]+ ms cwnd \d+K retr \d+/);
  assert.match(c.stdout, /client: \d+ bytes in [\d.]+ s = [\d.]+ Mbit\/s/);
  await s.out;
});

test('nc -l and nc carry stdin to stdout over a multipath connection', { timeout: 60_000 }, async () => {
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
  const listener = run(['nc', '-l', '0', '127.0.0.1', '-v']);
  const lout = output(listener);
  const port = await portFrom(listener);
  const sender = await output(run(['nc', '127.0.0.1', String(port), ...LOCAL], data));
  assert.equal(sender.code, 0, sender.stderr);
  const got = await lout;
  assert.equal(got.code, 0, got.stderr);
  assert.ok(got.raw.equals(data), `received ${got.raw.length} of ${data.length} bytes`);
});

test('--pcap on both ends: inspect reads both captures as the same connection and stream; tshark finds no error', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-ts-pcap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = { client: join(dir, 'client.pcap'), server: join(dir, 'server.pcap') };
  const s = await server(['--pcap', files.server]);
  const c = await output(
    run(['client', '127.0.0.1', '--port', String(s.port), ...LOCAL, '--bytes', '2M', '--pcap', files.client]),
  );
  assert.equal(c.code, 0, c.stderr);
  assert.equal((await s.out).code, 0);
  const views = Object.values(files).map((f) => {
    const d = decodeCaptureFile(readFileSync(f));
    assert.ok(!(d instanceof DecodeError), String(d));
    const a = analyse(d.segments);
    assert.equal(a.connections.length, 1, f);
    return a.connections[0]!;
  });
  for (const v of views) {
    // The join's HMACs are recomputed from the keys both captures hold: true, not merely "not false".
    assert.deepEqual(
      v.subflows.map((f) => [f.kind, f.hmacValid.synAck, f.hmacValid.ack]),
      [
        ['MP_CAPABLE', null, null],
        ['MP_JOIN', true, true],
      ],
    );
    // The request header, then 2 MB of pattern, with no hole: every data segment was recorded.
    const up = v.streams.clientToServer;
    assert.ok(up.bytes > 2_000_000 && up.bytes < 2_000_100, String(up.bytes));
    assert.deepEqual(up.gaps, []);
  }
  assert.equal(views[0]!.keys.client, views[1]!.keys.client);
  assert.equal(views[0]!.streams.clientToServer.sha256, views[1]!.streams.clientToServer.sha256);
  if (!existsSync(TSHARK)) return;
  for (const f of Object.values(files)) {
    const report = tsharkExpert(f);
    assert.doesNotMatch(report, MALFORMED_OR_BAD_CHECKSUM, report);
  }
});
