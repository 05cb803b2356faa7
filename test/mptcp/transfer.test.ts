import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCaptureFile } from '../../src/inspect/packets.ts';
import { MptcpEndpoint } from '../../src/mptcp/endpoint.ts';
import { fullmeshManager } from '../../src/pm/fullmesh.ts';
import { Simulator } from '../../src/sim/events.ts';
import { Network } from '../../src/sim/network.ts';
import type { SegmentStack } from '../../src/stack.ts';
import { MS } from '../../src/util/time.ts';
import { parseIp } from '../../src/wire/address.ts';
import { transportChecksum } from '../../src/wire/checksum.ts';
import { verifyDssChecksum } from '../../src/wire/dss-checksum.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { PcapWriter } from '../../src/wire/pcap.ts';
import { IPPROTO_TCP } from '../../src/wire/tcp.ts';
import { bed, clientAddress, SERVER, transfer } from './harness.ts';

test('one subflow: MP_CAPABLE handshake, data by DSS, DATA_FIN both ways, clean close', () => {
  const b = bed(1, [{}]);
  const r = transfer(b, 2_000_000);
  assert.equal(r.conn.fallback, false);
  assert.ok(r.intact, `received ${r.all.length} bytes`);
  assert.ok(r.ended);
  assert.equal(r.conn.state, 'closed');
  assert.equal(r.conn.closedReason, null);
});

test('two paths with fullmesh: both subflows carry data, every byte arrives in order', () => {
  const b = bed(2, [{ queue: { packets: 170 } }, { queue: { packets: 170 } }]);
  const r = transfer(b, 60_000_000, {
    pm: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
  });
  assert.ok(r.intact, `received ${r.all.length} bytes`);
  const subs = r.conn.subflows;
  assert.equal(subs.length, 2);
  for (const s of subs) assert.ok(s.bytesSent > 20_000_000, `subflow ${s.id} sent ${s.bytesSent}`);
  const seconds = r.doneAt / 1e6;
  const mbps = (60_000_000 * 8) / seconds / 1e6;
  // Including the handshakes and slow start; the steady state is checked by the 30 s scenario.
  assert.ok(mbps > 140, `goodput ${mbps.toFixed(1)} Mbit/s over two 100 Mbit/s paths`);
  void MS;
});

test('with DSS checksums negotiated, every mapping on the wire carries its RFC 8684 §3.3.1 checksum', () => {
  const b = bed(3, [{}], { checksum: true });
  const w = new PcapWriter();
  b.net.capture(w);
  const r = transfer(b, 300_000);
  assert.ok(r.intact);
  assert.equal(r.serverConn?.checksums, true);
  const cap = decodeCaptureFile(w.toBytes());
  assert.ok(!(cap instanceof DecodeError));
  const idsn = r.conn.localIdsn;
  let checked = 0;
  for (const s of cap.segments) {
    for (const o of s.mptcp) {
      if (o.subtype === 'MP_CAPABLE' && o.dataLength !== undefined && s.payload.length === o.dataLength) {
        assert.ok(
          verifyDssChecksum((idsn + 1n) & ((1n << 64n) - 1n), 1, o.dataLength, o.checksum!, s.payload),
        );
        checked++;
      }
      if (
        o.subtype === 'DSS' &&
        o.dsn !== undefined &&
        s.payload.length > 0 &&
        s.payload.length === o.dataLength
      ) {
        assert.ok(o.checksum !== undefined, `frame ${s.frame} has no checksum`);
        assert.ok(verifyDssChecksum(o.dsn, o.ssn!, o.dataLength, o.checksum, s.payload), `frame ${s.frame}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 150, `checked ${checked} mappings`);
});

/** Delegates to an endpoint, but rewrites one payload byte of the `nth` data segment from `src`, fixing the TCP checksum. */
class PayloadRewriter implements SegmentStack {
  seen = 0;
  constructor(
    readonly inner: MptcpEndpoint,
    private readonly src: string,
    private readonly nth: number,
  ) {}
  receive(now: number, src: string, dst: string, segment: Uint8Array): void {
    const hl = (segment[12]! >>> 4) * 4;
    if (src === this.src && segment.length > hl && ++this.seen === this.nth) {
      const s = segment.slice();
      s[hl + 10]! ^= 0xff;
      s[16] = 0;
      s[17] = 0;
      const sum = transportChecksum(parseIp(src) as Uint8Array, parseIp(dst) as Uint8Array, IPPROTO_TCP, s);
      s[16] = sum >>> 8;
      s[17] = sum & 0xff;
      segment = s;
    }
    this.inner.receive(now, src, dst, segment);
  }
  poll(now: number) {
    return this.inner.poll(now);
  }
  nextDeadline() {
    return this.inner.nextDeadline();
  }
  onTimer(now: number) {
    this.inner.onTimer(now);
  }
  onAddressChange(now: number, address: string, up: boolean) {
    this.inner.onAddressChange(now, address, up);
  }
}

test('a payload rewritten on path 2 with a fixed TCP checksum fails its DSS checksum: MP_FAIL, reset, data reinjected', () => {
  const sim = new Simulator(11);
  const net = new Network(sim);
  for (const k of [1, 2]) {
    net.addLink(`l${k}`, { rate: 50e6, delay: 10 * MS, queue: { packets: 200 } });
    net.addPath(`p${k}`, [`l${k}`], clientAddress(k));
  }
  const clientHost = net.addHost('client', [clientAddress(1), clientAddress(2)]);
  const serverHost = net.addHost('server', [SERVER]);
  const client = new MptcpEndpoint({ rng: sim.rng.fork(), config: { checksum: true } });
  const server = new MptcpEndpoint({ rng: sim.rng.fork(), config: { checksum: true } });
  const tamper = new PayloadRewriter(server, clientAddress(2), 300);
  clientHost.attach(client);
  serverHost.attach(tamper);
  const b = { sim, net, client, server, clientHost, serverHost };
  const r = transfer(b, 20_000_000, {
    pm: fullmeshManager({ localAddresses: [clientAddress(1), clientAddress(2)] }),
  });
  assert.equal(tamper.seen >= 300, true, 'the rewrite happened');
  assert.equal(server.counters.DataCsumErr, 1);
  assert.equal(server.counters.MPFailTx, 1);
  assert.equal(client.counters.MPFailRx, 1);
  assert.ok(r.intact, 'every byte arrived intact: the bad mapping was never delivered');
  assert.ok(r.conn.isClosed() && r.conn.closedReason === null, 'the connection closed cleanly');
});
