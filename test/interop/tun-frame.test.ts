/** IP framing of the TUN transport (src/io/tun-frame.ts): needs no root and no TUN, so it runs everywhere. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IpFramer } from '../../src/io/tun-frame.ts';
import { Rng } from '../../src/util/rng.ts';
import { ipFromText } from '../../src/wire/address.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeIpv4, decodeIpv6 } from '../../src/wire/ip.ts';
import { encodeTcp, TcpFlag, verifyTcpChecksum } from '../../src/wire/tcp.ts';

function segment(src: string, dst: string, payload: Uint8Array): Uint8Array {
  const h = {
    srcPort: 45000,
    dstPort: 40000,
    seq: 123456,
    ack: 654321,
    flags: TcpFlag.ACK | TcpFlag.PSH,
    reserved: 0,
    window: 512,
    checksum: 0,
    urgent: 0,
    options: [],
  };
  return encodeTcp(h, payload, { src: ipFromText(src), dst: ipFromText(dst) });
}

function framed(f: IpFramer, src: string, dst: string, seg: Uint8Array, tos = 0): Uint8Array {
  const out = new Uint8Array(f.packetLength(src, dst, seg.length));
  assert.equal(f.frame(src, dst, seg, tos, out, 0), out.length);
  return out;
}

test('IPv4: a framed segment has a valid header checksum, DF, TTL 64, the TOS, and strips back to itself', () => {
  const us = new IpFramer(['10.9.1.2']);
  const them = new IpFramer(['10.1.1.1']);
  const seg = segment('10.9.1.2', '10.1.1.1', new Uint8Array(1000).fill(7));
  const p = framed(us, '10.9.1.2', '10.1.1.1', seg, 0xb8);
  const d = decodeIpv4(p);
  assert.ok(!(d instanceof DecodeError), String(d));
  assert.equal(d.ttl, 64);
  assert.equal(d.dscp, 0xb8 >>> 2);
  assert.equal(d.flags & 2, 2);
  assert.ok(verifyTcpChecksum(d.src, d.dst, d.payload));
  const s = them.strip(p);
  assert.ok(typeof s !== 'string', s as string);
  assert.equal(s.src, '10.9.1.2');
  assert.equal(s.dst, '10.1.1.1');
  assert.deepEqual(s.segment, seg);
  // Consecutive packets get consecutive IP ids.
  const q = framed(us, '10.9.1.2', '10.1.1.1', seg);
  assert.equal(((q[4]! << 8) | q[5]!) - ((p[4]! << 8) | p[5]!), 1);
});

test('IPv6: framed with the traffic class and hop limit 64, stripped back to the segment', () => {
  const us = new IpFramer(['2001:db8::2']);
  const them = new IpFramer(['2001:db8::1']);
  const seg = segment('2001:db8::2', '2001:db8::1', new Uint8Array(300).fill(1));
  const p = framed(us, '2001:db8::2', '2001:db8::1', seg, 0x28);
  const d = decodeIpv6(p);
  assert.ok(!(d instanceof DecodeError), String(d));
  assert.equal(d.hopLimit, 64);
  assert.equal(d.trafficClass, 0x28);
  assert.ok(verifyTcpChecksum(d.src, d.dst, d.payload));
  const s = them.strip(p);
  assert.ok(typeof s !== 'string', s as string);
  assert.equal(s.src, '2001:db8::2');
  assert.deepEqual(s.segment, seg);
});

test('a source the stack does not own is not ours; mixed families and bad addresses are refused', () => {
  const f = new IpFramer(['10.9.1.2']);
  const seg = segment('10.9.1.3', '10.1.1.1', new Uint8Array(10));
  const out = new Uint8Array(100);
  // The TUN writer checks owns() before framing (a capture frames the peer's segments too).
  assert.equal(f.owns('10.9.1.3'), false);
  assert.equal(f.owns('10.9.1.2'), true);
  assert.equal(f.packetLength('10.9.1.2', '2001:db8::1', 10), -1);
  assert.equal(f.frame('10.9.1.2', 'not-an-address', seg, 0, out, 0), -1);
});

test('strip says why a packet is dropped: bad header, not TCP, fragment, not ours', () => {
  const us = new IpFramer(['10.9.1.2']);
  const them = new IpFramer(['10.1.1.1']);
  const p = framed(us, '10.9.1.2', '10.1.1.1', segment('10.9.1.2', '10.1.1.1', new Uint8Array(20)));
  assert.equal(new IpFramer(['10.1.1.2']).strip(p), 'notOurs');
  const badSum = p.slice();
  badSum[10]! ^= 1;
  assert.equal(them.strip(badSum), 'badIp');
  assert.equal(them.strip(p.subarray(0, 19)), 'badIp');
  assert.equal(them.strip(p.subarray(0, 30)), 'badIp'); // total length beyond the bytes read
  const icmp = p.slice();
  icmp[9] = 1;
  refreshIpv4Checksum(icmp);
  assert.equal(them.strip(icmp), 'notTcp');
  const frag = p.slice();
  frag[6] = 0x20; // MF
  refreshIpv4Checksum(frag);
  assert.equal(them.strip(frag), 'fragment');
  assert.equal(them.strip(new Uint8Array(0)), 'badIp');
});

test('strip never throws on random or mutated bytes (seeded)', () => {
  const rng = new Rng(8);
  const us = new IpFramer(['10.9.1.2', '2001:db8::2']);
  const them = new IpFramer(['10.1.1.1', '2001:db8::1']);
  const v4 = framed(us, '10.9.1.2', '10.1.1.1', segment('10.9.1.2', '10.1.1.1', new Uint8Array(64)));
  const v6 = framed(
    us,
    '2001:db8::2',
    '2001:db8::1',
    segment('2001:db8::2', '2001:db8::1', new Uint8Array(64)),
  );
  let kept = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = i % 3 === 0 ? rng.fill(new Uint8Array(rng.int(120))) : (i % 3 === 1 ? v4 : v6).slice();
    if (i % 3 !== 0) for (let k = rng.int(4); k >= 0; k--) base[rng.int(base.length)] = rng.int(256);
    const r = them.strip(base.subarray(0, rng.int(base.length + 1)));
    if (typeof r !== 'string') kept++;
  }
  assert.ok(kept > 0, 'some mutated packets stay valid');
});

function refreshIpv4Checksum(p: Uint8Array): void {
  p[10] = 0;
  p[11] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[10] = c >>> 8;
  p[11] = c & 0xff;
}
