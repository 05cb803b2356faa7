import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, MptcpApiError, withEnvironment } from '../../src/index.ts';
import { LOOPBACK_PATHS, listen } from './support.ts';

test('MPTCP_TS_* variables fill the options the application did not pass; passed options win', () => {
  const env = {
    MPTCP_TS_PRIMARY_PATH_ONLY: '10.0.1.1, 10.0.3.1',
    MPTCP_TS_SCHEDULER: 'blest',
    MPTCP_TS_CC: 'olia',
    MPTCP_TS_ADDRESSES: '10.0.1.1,10.0.2.1',
    MPTCP_TS_BACKUP: '10.0.2.1',
    MPTCP_TS_PATH_MANAGER: 'ndiffports',
    MPTCP_TS_MSS: '1400',
    MPTCP_TS_CHECKSUM: '1',
    MPTCP_TS_USER_TIMEOUT_MS: '5000',
  };
  const o = withEnvironment({}, env);
  assert.deepEqual(o.primaryPathOnly, ['10.0.1.1', '10.0.3.1']);
  assert.equal(o.scheduler, 'blest');
  assert.equal(o.cc, 'olia');
  assert.deepEqual(o.addresses, ['10.0.1.1', '10.0.2.1']);
  assert.deepEqual(o.backupList, [{ local: '10.0.2.1' }]);
  assert.equal(o.pathManager, 'ndiffports');
  assert.equal(o.mss, 1400);
  assert.equal(o.checksum, true);
  assert.equal(o.userTimeoutMs, 5000);
  const mine = withEnvironment({ cc: 'reno', scheduler: 'roundrobin' }, env);
  assert.equal(mine.cc, 'reno');
  assert.equal(mine.scheduler, 'roundrobin');
  assert.deepEqual(withEnvironment({}, {}), {});
});

test('a malformed variable is refused with its name and what to give', () => {
  assert.throws(
    () => withEnvironment({}, { MPTCP_TS_CC: 'vegas' }),
    (e: unknown) => e instanceof MptcpApiError && /MPTCP_TS_CC='vegas'.*lia/.test((e as Error).message),
  );
  assert.throws(() => withEnvironment({}, { MPTCP_TS_MSS: 'big' }), /MPTCP_TS_MSS/);
  assert.throws(() => withEnvironment({}, { MPTCP_TS_PATH_MANAGER: 'magic' }), /MPTCP_TS_PATH_MANAGER/);
});

test('MPTCP_TS_SCHEDULER may name a ProgMP file, which is loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-ts-env-'));
  const file = join(dir, 'firstfit.progmp');
  writeFileSync(
    file,
    'SCHEDULER firstfit;\nVAR sbf = SUBFLOWS.FILTER(s => s.CWND > s.SKBS_IN_FLIGHT + s.QUEUED).MIN(s => s.RTT);\nIF (sbf != NULL) { sbf.PUSH(Q.POP()); }\n',
  );
  const o = withEnvironment({}, { MPTCP_TS_SCHEDULER: file });
  assert.equal(o.scheduler, 'firstfit');
});

test('an application that passes no options gets primary-path-only and its scheduler from the environment', async () => {
  const before = { ...process.env };
  process.env.MPTCP_TS_PRIMARY_PATH_ONLY = '127.0.0.1';
  process.env.MPTCP_TS_CC = 'olia';
  try {
    const { server, port } = await listen((s) => {
      s.resume();
      s.on('end', () => s.end());
    });
    // Only the destination and the two loopback paths are given, as a ROS node would (no policy in code).
    const c = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS });
    await once(c, 'connect');
    const info = c.info();
    assert.equal(info.scheduler, 'ppos');
    assert.equal(info.cc, 'olia');
    const t0 = Date.now();
    while (c.subflows().length < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    c.end();
    c.resume();
    await once(c, 'close');
    server.close();
    const on = (a: string) => c.subflows().find((s) => s.local.address === a)!;
    assert.ok(on('127.0.0.1').primary);
    // The server is at 127.0.0.1 too: that remote address must not make the other subflow primary.
    assert.equal(on('127.0.0.2').primary, false);
  } finally {
    process.env = before;
  }
});
