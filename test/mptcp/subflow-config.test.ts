/**
 * The TCP settings every subflow gets from its connection's (subflowTcpConfig): the buffers follow the
 * connection's, so raising them for a long fat path raises what each subflow may hold in flight too, unless
 * `tcp` sets a subflow value of its own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MPTCP_CONFIG, resolveMptcpConfig } from '../../src/mptcp/config.ts';
import { subflowTcpConfig } from '../../src/mptcp/connection.ts';

const MIB = 1024 * 1024;

test("a subflow's send buffer and largest receive window follow the connection's", () => {
  const c = subflowTcpConfig(
    resolveMptcpConfig(DEFAULT_MPTCP_CONFIG, { sndBuf: 32 * MIB, rcvBufMax: 64 * MIB }),
  );
  assert.equal(c.sndBuf, 32 * MIB);
  assert.equal(c.rcvBufMax, 64 * MIB);
});

test("a subflow send buffer set in tcp overrides the connection's", () => {
  const c = subflowTcpConfig(
    resolveMptcpConfig(DEFAULT_MPTCP_CONFIG, { sndBuf: 32 * MIB, tcp: { sndBuf: MIB } }),
  );
  assert.equal(c.sndBuf, MIB);
});

test('a connection buffer below one segment still gives each subflow a whole segment', () => {
  const c = subflowTcpConfig(resolveMptcpConfig(DEFAULT_MPTCP_CONFIG, { sndBuf: 1000 }));
  assert.equal(c.sndBuf, 1460);
});
