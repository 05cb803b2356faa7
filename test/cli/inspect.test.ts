import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { capturePath } from '../support/captures.ts';

const run = (...args: string[]) => spawnSync('node', ['bin/mptcp-ts', ...args], { encoding: 'utf8' });

test('inspect --json prints packets and connections with the contract field names', () => {
  const r = run('inspect', '--json', capturePath('kernel-3paths-prio-rmaddr'));
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.packets.length, 376);
  const p1 = doc.packets[0];
  assert.deepEqual(Object.keys(p1).slice(0, 10), [
    'frame',
    'src',
    'dst',
    'sport',
    'dport',
    'seq',
    'ack',
    'flags',
    'payloadLength',
    'mptcp',
  ]);
  assert.deepEqual(p1.mptcp, [{ subtype: 'MP_CAPABLE', version: 1, flags: 1 }]);
  const dss = doc.packets.find((p: { frame: number }) => p.frame === 9).mptcp[0];
  assert.deepEqual(dss, {
    subtype: 'DSS',
    dataAck: '495547527',
    dsn: '10938973953902429296',
    ssn: 1,
    dataLength: 4272,
    dataFin: false,
  });
  const c = doc.connections[0];
  assert.equal(c.subflows.length, 3);
  assert.equal(c.streams.clientToServer.bytes, 239232);
  assert.deepEqual(c.streams.clientToServer.gaps, []);
  assert.equal(c.removed[0].addressIds[0], 3);
});

test('inspect prints a human summary and exits 2 for a file that is not a capture', () => {
  const r = run('inspect', '--no-packets', capturePath('kernel-ipv6-fallback'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 MPTCP connection\(s\)/);
  assert.match(r.stdout, /fell back to TCP/);
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-ts-'));
  const junk = join(dir, 'junk.pcap');
  writeFileSync(junk, 'this is not a capture at all');
  const bad = run('inspect', junk);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /not a capture/);
  assert.equal(run('inspect', join(dir, 'missing.pcap')).status, 2);
});
