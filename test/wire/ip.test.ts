import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  formatIp,
  formatIpv4,
  formatIpv6,
  ipFromText,
  parseIp,
  parseIpv4,
  parseIpv6,
} from '../../src/wire/address.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import {
  decodeIp,
  decodeIpv4,
  decodeIpv6,
  encodeIp,
  type Ipv4Header,
  type Ipv6Header,
  writeIpv4Header,
} from '../../src/wire/ip.ts';
import { encodeMptcpOption, mptcpOptionLength } from '../../src/wire/mptcp-options.ts';
import { decodeTcp, encodeTcp, mptcpOptions, verifyTcpChecksum } from '../../src/wire/tcp.ts';
import { CAPTURES_DIR } from '../support/captures.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function ok<T>(r: T | DecodeError): T {
  if (r instanceof DecodeError) assert.fail(String(r));
  return r;
}

function err(r: unknown, code: string): DecodeError {
  assert.ok(r instanceof DecodeError, `expected ${code}, got a decoded value`);
  assert.equal(r.code, code, r.message);
  return r;
}

// ------------------------------------------------------------------------------------------- addresses

test('IPv4 text parses to 4 bytes and formats back', () => {
  assert.deepEqual([...ok(parseIpv4('10.1.2.255'))], [10, 1, 2, 255]);
  assert.deepEqual([...ok(parseIpv4('0.0.0.0'))], [0, 0, 0, 0]);
  assert.equal(formatIpv4(new Uint8Array([192, 0, 2, 1])), '192.0.2.1');
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    '1..3.4',
    ' 1.2.3.4',
    'a.b.c.d',
  ])
    err(parseIpv4(bad), 'address.ipv4');
});

test('IPv6 text parses (::, embedded IPv4, upper case) and formats canonically (RFC 5952)', () => {
  const cases: [string, string, string][] = [
    ['2001:db8:2::2', '20010db8000200000000000000000002', '2001:db8:2::2'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001', '2001:db8::1'],
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['1::', '00010000000000000000000000000000', '1::'],
    // A single zero group is not compressed; the first of two equal runs is.
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '20010000000000010000000000000001', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001', '::ffff:10.0.0.1'],
    ['::ffff:0:0', '00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    // IPv4-compatible (deprecated): dotted like inet_ntop, unless only the last group is set.
    ['::bde8:d673', '000000000000000000000000bde8d673', '::189.232.214.115'],
    ['::1234', '00000000000000000000000000001234', '::1234'],
    ['::1:0:0:0', '00000000000000000001000000000000', '::1:0:0:0'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000', '1:2:3:4:5:6:7:0'],
    ['FE80:0:0:0:ABCD:EF01:2345:6789', 'fe80000000000000abcdef0123456789', 'fe80::abcd:ef01:2345:6789'],
  ];
  for (const [text, bytes, canonical] of cases) {
    const b = ok(parseIpv6(text));
    assert.equal(toHex(b), bytes, text);
    assert.equal(formatIpv6(b), canonical, text);
    assert.equal(toHex(ok(parseIpv6(canonical))), bytes, canonical);
  }
  for (const bad of [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7:8::',
    '::1.2.3',
    '1.2.3.4::',
    ':1::2',
    '1::2:',
    'fe80::1%eth0',
  ])
    err(parseIpv6(bad), 'address.ipv6');
});

test('parseIp picks the family from the text; ipFromText and formatIp throw TypeError on misuse', () => {
  assert.equal(ok(parseIp('1.2.3.4')).length, 4);
  assert.equal(ok(parseIp('::ffff:1.2.3.4')).length, 16);
  assert.equal(formatIp(ipFromText('2001:db8::')), '2001:db8::');
  assert.throws(() => ipFromText('10.0.0'), { name: 'TypeError', message: /give dotted IPv4/ });
  assert.throws(() => formatIp(new Uint8Array(5)), TypeError);
});

// ---------------------------------------------------------------------------------------------- IPv4

const v4: Ipv4Header = {
  version: 4,
  dscp: 46,
  ecn: 1,
  id: 0xbeef,
  flags: 2,
  fragmentOffset: 0,
  ttl: 64,
  protocol: 6,
  src: new Uint8Array([10, 0, 1, 1]),
  dst: new Uint8Array([10, 1, 1, 1]),
  options: new Uint8Array(0),
};

test('IPv4 header: hand-checked bytes, checksum, and round trip', () => {
  const bytes = encodeIp(v4, hex('01020304'));
  // Checksum: 45b9+0018+beef+4000+4006+0a00+0101+0a01+0101 = 0x19ac9 -> 0x9aca -> ~ = 0x6535.
  assert.equal(toHex(bytes), '45b90018beef400040066535' + '0a000101' + '0a010101' + '01020304');
  const p = ok(decodeIp(bytes));
  assert.equal(p.version, 4);
  if (p.version !== 4) return;
  assert.equal(p.headerLength, 20);
  assert.equal(p.totalLength, 24);
  assert.equal(p.checksum, 0x6535);
  assert.equal(p.dscp, 46);
  assert.equal(p.ecn, 1);
  assert.equal(p.flags, 2);
  assert.deepEqual([...p.payload], [1, 2, 3, 4]);
  // The payload is a view, not a copy.
  assert.equal(p.payload.buffer, bytes.buffer);
  assert.deepEqual(encodeIp(p, p.payload), bytes);
});

test('IPv4 with options, fragment fields and trailing link padding', () => {
  const h: Ipv4Header = { ...v4, options: hex('94040000'), flags: 1, fragmentOffset: 0x1abc };
  const packet = encodeIp(h, hex('aa'));
  const padded = new Uint8Array(packet.length + 6);
  padded.set(packet);
  const p = ok(decodeIpv4(padded));
  assert.equal(p.headerLength, 24);
  assert.equal(toHex(p.options), '94040000');
  assert.equal(p.fragmentOffset, 0x1abc);
  assert.equal(p.flags, 1);
  assert.equal(p.payload.length, 1);
  assert.deepEqual(encodeIp(p, p.payload), packet);
});

test('IPv4 errors: truncated, IHL < 5, inconsistent total length, bad checksum, wrong version', () => {
  const good = encodeIp(v4, hex('01020304'));
  err(decodeIpv4(good.subarray(0, 19)), 'ipv4.truncated');
  err(decodeIpv4(good.subarray(0, 23)), 'ipv4.truncated');
  const ihl = good.slice();
  ihl[0] = 0x44;
  err(decodeIpv4(ihl), 'ipv4.ihl');
  const ihlLong = good.slice();
  ihlLong[0] = 0x4f;
  err(decodeIpv4(ihlLong, 0, ihlLong.length, { verifyChecksum: false }), 'ipv4.totalLength');
  const tl = good.slice();
  tl[3] = 19;
  err(decodeIpv4(tl, 0, tl.length, { verifyChecksum: false }), 'ipv4.totalLength');
  const sum = good.slice();
  sum[8] = 63;
  err(decodeIpv4(sum), 'ipv4.checksum');
  assert.equal(ok(decodeIpv4(sum, 0, sum.length, { verifyChecksum: false })).ttl, 63);
  err(decodeIp(new Uint8Array([0x50, 0, 0, 0])), 'ip.version');
  err(decodeIp(new Uint8Array(0)), 'ip.truncated');
});

test('IPv4 encoding misuse throws', () => {
  assert.throws(() => encodeIp({ ...v4, src: new Uint8Array(16) }), TypeError);
  assert.throws(() => encodeIp({ ...v4, options: new Uint8Array(3) }), RangeError);
  assert.throws(() => encodeIp(v4, new Uint8Array(65516)), RangeError);
  assert.throws(() => writeIpv4Header(v4, 0, new Uint8Array(19), 0), RangeError);
});

// ---------------------------------------------------------------------------------------------- IPv6

const v6: Ipv6Header = {
  version: 6,
  trafficClass: 0xb8,
  flowLabel: 0xabcde,
  nextHeader: 6,
  hopLimit: 64,
  src: ipFromText('2001:db8:1::1'),
  dst: ipFromText('2001:db8:1::2'),
  extensions: new Uint8Array(0),
};

test('IPv6 header: hand-checked bytes and round trip', () => {
  const bytes = encodeIp(v6, hex('0102'));
  assert.equal(
    toHex(bytes),
    '6b8abcde00020640' + '20010db8000100000000000000000001' + '20010db8000100000000000000000002' + '0102',
  );
  const p = ok(decodeIp(bytes));
  assert.equal(p.version, 6);
  if (p.version !== 6) return;
  assert.equal(p.trafficClass, 0xb8);
  assert.equal(p.flowLabel, 0xabcde);
  assert.equal(p.payloadLength, 2);
  assert.equal(p.protocol, 6);
  assert.equal(p.fragment, undefined);
  assert.deepEqual(encodeIp(p, p.payload), bytes);
});

test('IPv6 extension headers (hop-by-hop, routing, fragment, destination) are walked to reach TCP', () => {
  const ext = hex(
    // hop-by-hop: next = routing (43), length 0 -> 8 bytes, PadN
    '2b00 0104 00000000' +
      // routing: next = fragment (44), length 1 -> 16 bytes
      '2c01 0000 00000000 0000000000000000' +
      // fragment: next = destination options (60), offset 0, M = 1, id 0x01020304
      '3c00 0001 01020304' +
      // destination options: next = TCP (6), length 0
      '0600 0104 00000000',
  );
  const h: Ipv6Header = { ...v6, nextHeader: 0, extensions: ext };
  const bytes = encodeIp(h, hex('deadbeef'));
  const p = ok(decodeIpv6(bytes));
  assert.equal(p.nextHeader, 0);
  assert.equal(p.protocol, 6);
  assert.equal(p.payloadLength, ext.length + 4);
  assert.equal(toHex(p.extensions), toHex(ext));
  assert.deepEqual(p.fragment, { offset: 0, moreFragments: true, id: 0x01020304 });
  assert.equal(toHex(p.payload), 'deadbeef');
  assert.deepEqual(encodeIp(p, p.payload), bytes);
  // An extension header that runs past the payload length.
  const cut = bytes.slice(0, 40 + 8 + 10);
  cut[5] = 18;
  err(decodeIpv6(cut), 'ipv6.extension');
  // An unknown next header (59, no next header) stops the walk.
  const none = ok(decodeIpv6(encodeIp({ ...v6, nextHeader: 59 }, hex('00'))));
  assert.equal(none.protocol, 59);
});

test('IPv6 errors: truncated header, payload length beyond the buffer, wrong version', () => {
  const bytes = encodeIp(v6, hex('0102'));
  err(decodeIpv6(bytes.subarray(0, 39)), 'ipv6.truncated');
  err(decodeIpv6(bytes.subarray(0, 41)), 'ipv6.truncated');
  err(decodeIpv6(encodeIp(v4, new Uint8Array(40))), 'ipv6.version');
  err(decodeIpv4(encodeIp(v6, hex('00'))), 'ipv4.version');
  const hop = encodeIp({ ...v6, nextHeader: 0 }, hex('06'));
  err(decodeIpv6(hop), 'ipv6.extension');
  assert.throws(() => encodeIp({ ...v6, dst: new Uint8Array(4) }), TypeError);
});

// ------------------------------------------------------------------------------------ kernel captures

interface ExpectedPacket {
  frame: number;
  ip_version: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  tcp_flags_hex: string;
  seq: number;
  ack: number;
  len: number;
  options: { raw: string }[];
}

/** The Ethernet frames of a classic little-endian microsecond pcap (the captures' format). */
function* frames(file: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  assert.equal(view.getUint32(0, true), 0xa1b2c3d4);
  assert.equal(view.getUint32(20, true), 1);
  for (let i = 24; i < file.length; ) {
    const caplen = view.getUint32(i + 8, true);
    yield file.subarray(i + 16, i + 16 + caplen);
    i += 16 + caplen;
  }
}

test('every packet of the kernel captures decodes (IP, TCP, MPTCP) to tshark’s values and re-encodes exactly', () => {
  let count = 0;
  for (const name of ['kernel-3paths-prio-rmaddr', 'kernel-ipv6-fallback']) {
    const doc = JSON.parse(readFileSync(`${CAPTURES_DIR}/${name}.expect.json`, 'utf8'));
    const expected = doc.packets as ExpectedPacket[];
    let k = 0;
    for (const frame of frames(new Uint8Array(readFileSync(`${CAPTURES_DIR}/${name}.pcap`)))) {
      const e = expected[k++]!;
      const ethertype = (frame[12]! << 8) | frame[13]!;
      assert.equal(ethertype, e.ip_version === 4 ? 0x0800 : 0x86dd);
      const ipBytes = frame.subarray(14);
      const ip = ok(decodeIp(ipBytes));
      assert.equal(ip.version, e.ip_version);
      assert.equal(ip.protocol, 6);
      assert.equal(formatIp(ip.src), e.src);
      assert.equal(formatIp(ip.dst), e.dst);
      const seg = ok(decodeTcp(ip.payload));
      assert.ok(verifyTcpChecksum(ip.src, ip.dst, ip.payload), `frame ${e.frame} TCP checksum`);
      assert.equal(seg.srcPort, e.sport);
      assert.equal(seg.dstPort, e.dport);
      assert.equal(seg.flags, Number(e.tcp_flags_hex) & 0xff);
      assert.equal(seg.seq, e.seq);
      assert.equal(seg.ack, e.ack);
      assert.equal(seg.payload.length, e.len);
      const raws = mptcpOptions(seg).map((o) => {
        const out = new Uint8Array(mptcpOptionLength(o));
        encodeMptcpOption(o, out, 0);
        return toHex(out);
      });
      assert.deepEqual(
        raws,
        e.options.map((o) => o.raw),
        `frame ${e.frame}`,
      );
      assert.ok(!seg.options.some((o) => o.kind === 'mptcpMalformed'));
      // The whole IP packet (bytes past the IP length are Ethernet padding) re-encodes byte for byte.
      const tcpBytes = encodeTcp(seg, seg.payload);
      const again = encodeIp(ip, tcpBytes);
      assert.equal(toHex(again), toHex(ipBytes.subarray(0, again.length)), `frame ${e.frame}`);
      count++;
    }
    assert.equal(k, expected.length);
  }
  assert.equal(count, 376 + 118);
});
