/**
 * Joins an attacker might try against a live connection (RFC 8684 §3.2, §5): an MP_JOIN with a token the
 * server never issued, and one with a sniffed token but a forged third-ACK HMAC. Both are refused with an
 * RST carrying MP_TCPRST and counted, and the real transfer goes on untouched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MptcpConnection } from '../../src/mptcp/connection.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import type { OutSegment, SegmentStack } from '../../src/stack.ts';
import { MS } from '../../src/util/time.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import type { MptcpOption } from '../../src/wire/mptcp-types.ts';
import { decodeTcp, TcpFlag, type TcpOption } from '../../src/wire/tcp.ts';
import { forge } from '../tcp/forge.ts';
import { bed, clientAddress, PORT, SERVER, transfer } from './harness.ts';

const ATTACKER = '10.0.9.1';

/** A scripted peer that opens one MP_JOIN subflow and answers the SYN/ACK with a made-up HMAC. */
class JoinAttacker implements SegmentStack {
  private readonly out: OutSegment[] = [];
  private seq = 77_000;
  synAck: MptcpOption | null = null;
  rst: { options: TcpOption[] } | null = null;

  constructor(private readonly port: number) {}

  join(token: number): void {
    this.send(TcpFlag.SYN, 0, [
      { kind: 'mss', mss: 1460 },
      {
        kind: 'mptcp',
        mptcp: { subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 9, token, nonce: 42 },
      },
    ]);
    this.seq++;
  }

  receive(_now: number, _src: string, _dst: string, bytes: Uint8Array): void {
    const s = decodeTcp(bytes);
    if (s instanceof DecodeError) return;
    if (s.flags & TcpFlag.RST) {
      this.rst = { options: s.options };
      return;
    }
    if (s.flags & TcpFlag.SYN && s.flags & TcpFlag.ACK) {
      const j = s.options.find((o) => o.kind === 'mptcp' && o.mptcp.subtype === 'MP_JOIN');
      this.synAck = j?.kind === 'mptcp' ? j.mptcp : null;
      const forged = new Uint8Array(20).fill(0x5a);
      this.send(TcpFlag.ACK, (s.seq + 1) >>> 0, [
        {
          kind: 'mptcp',
          mptcp: { subtype: 'MP_JOIN', form: 'ack', backup: false, addressId: 0, hmac: forged },
        },
      ]);
    }
  }

  private send(flags: number, ack: number, options: TcpOption[]): void {
    const segment = forge(ATTACKER, SERVER, {
      srcPort: this.port,
      dstPort: PORT,
      seq: this.seq,
      ack,
      flags,
      options,
    });
    this.out.push({ src: ATTACKER, dst: SERVER, segment });
  }

  poll(): OutSegment | null {
    return this.out.shift() ?? null;
  }
  nextDeadline(): number | null {
    return null;
  }
  onTimer(): void {}
}

/** A 2-path transfer with an attacker on a third path who joins at 1 s with `token(serverConn)`. */
function attacked(token: (server: MptcpConnection) => number) {
  const b = bed(7, [{}, {}]);
  b.net.addLink('l9', { rate: 10e6, delay: 5 * MS });
  b.net.addPath('p9', ['l9'], ATTACKER);
  const attackerHost = b.net.addHost('attacker', [ATTACKER]);
  const attacker = new JoinAttacker(50_000);
  attackerHost.attach(attacker);
  b.sim.at(1000 * MS, () => {
    const server = b.server.connections()[0]!;
    attacker.join(token(server));
    attackerHost.wake();
  });
  const r = transfer(b, 60_000_000, {
    pm: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
  });
  return { b, r, attacker };
}

const tcpRst = (options: TcpOption[] | undefined) =>
  options?.find((o) => o.kind === 'mptcp' && o.mptcp.subtype === 'MP_TCPRST');

test('a join with the right token but a forged HMAC is reset with MP_TCPRST; the transfer is unharmed', () => {
  const { b, r, attacker } = attacked((server) => server.localToken);
  assert.ok(attacker.synAck, 'the server answered the SYN (the token was right)');
  assert.ok(attacker.rst, 'the forged third ACK was answered with an RST');
  const reason = tcpRst(attacker.rst.options);
  assert.ok(reason?.kind === 'mptcp' && reason.mptcp.subtype === 'MP_TCPRST');
  assert.equal(reason.mptcp.reason, 1, 'MPTCP-specific error');
  assert.equal(b.server.counters.MPJoinAckHMacFailure, 1);
  assert.ok(r.intact, 'every byte arrived');
  const server = r.serverConn!;
  assert.ok(
    server.listSubflows().every((s) => s.remote.address !== ATTACKER || !s.fullyEstablished),
    'the attacker never had a usable subflow',
  );
});

test('a join with an unknown token is refused at once with RST + MP_TCPRST', () => {
  const { b, r, attacker } = attacked((server) => (server.localToken ^ 0x5a5a5a5a) >>> 0);
  assert.equal(attacker.synAck, null, 'no SYN/ACK for an unknown token');
  assert.ok(attacker.rst, 'an RST came back');
  assert.ok(tcpRst(attacker.rst.options), 'the RST carries MP_TCPRST');
  assert.equal(b.server.counters.MPJoinNoTokenFound, 1);
  assert.equal(b.server.counters.MPRstTx >= 1, true);
  assert.ok(r.intact);
});

test('a server that sets the C flag gets no joins to its initial address, and the transfer completes', () => {
  const b = bed(8, [{}, {}], { joinsToInitialAddress: false });
  const r = transfer(b, 5_000_000, {
    pm: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
  });
  assert.ok(r.intact);
  assert.equal(r.conn.peerRefusesInitialJoins, true, 'the client saw the C flag');
  assert.equal(b.server.counters.MPJoinSynRx, 0, 'the client sent no join to the initial address');
  assert.equal(r.conn.listSubflows().length, 1);
});
