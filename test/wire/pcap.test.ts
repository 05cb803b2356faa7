import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../src/util/rng.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { frameIpPacket, ipPayloadOfFrame, LinkType, UnsupportedLinkTypeError } from '../../src/wire/link.ts';
import { type Capture, PcapWriter, PcapWriterError, readCapture } from '../../src/wire/pcap.ts';
import { CAPTURES_DIR } from '../support/captures.ts';

const CAPTURES = CAPTURES_DIR;
const TSHARK = '/usr/bin/tshark';
const SHARED = [
  { name: 'kernel-3paths-prio-rmaddr', packets: 376 },
  { name: 'kernel-ipv6-fallback', packets: 118 },
];

function capture(x: Capture | DecodeError): Capture {
  if (x instanceof DecodeError) assert.fail(`unexpected DecodeError ${x}`);
  return x;
}

function decodeError(x: Capture | DecodeError, code: string): void {
  assert.ok(x instanceof DecodeError, `expected DecodeError ${code}, got a capture`);
  assert.equal(x.code, code, x.message);
}

function parseIp(s: string): Uint8Array {
  if (!s.includes(':')) return new Uint8Array(s.split('.').map(Number));
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const groups = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return new Uint8Array(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** tshark's relative time ("0.020780000") as exact microseconds. */
function relativeUs(text: string): number {
  const [sec, frac = ''] = text.split('.');
  assert.match(frac.slice(6), /^0*$/, `sub-microsecond digits in ${text}`);
  return Number(sec) * 1_000_000 + Number(frac.slice(0, 6).padEnd(6, '0'));
}

interface TsvRow {
  frame: number;
  timeUs: number;
  src: string;
  dst: string;
}

function readTsv(name: string): TsvRow[] {
  const [, ...rows] = readFileSync(`${CAPTURES}/${name}.fields.tsv`, 'utf8').trimEnd().split('\n');
  return rows.map((line) => {
    const f = line.split('\t');
    return { frame: Number(f[0]), timeUs: relativeUs(f[1]!), src: f[2]!, dst: f[3]! };
  });
}

const sharedBytes = (name: string): Uint8Array => new Uint8Array(readFileSync(`${CAPTURES}/${name}.pcap`));

test('the shared kernel captures read with the right counts, times and IP addresses (against tshark)', () => {
  for (const { name, packets } of SHARED) {
    const c = capture(readCapture(sharedBytes(name)));
    const rows = readTsv(name);
    assert.equal(c.format, 'pcap');
    assert.equal(c.truncated, false);
    assert.equal(c.records.length, packets, name);
    assert.equal(rows.length, packets);
    const t0 = c.records[0]!.timeUs;
    c.records.forEach((r, i) => {
      const row = rows[i]!;
      assert.equal(r.frame, row.frame);
      assert.equal(r.linkType, LinkType.ETHERNET);
      assert.equal(r.timeUs - t0, row.timeUs, `${name} frame ${r.frame} time`);
      assert.equal(r.originalLength, r.data.length);
      const ip = ipPayloadOfFrame(r.linkType, r.data);
      assert.ok(ip, `${name} frame ${r.frame} has an IP packet`);
      const v6 = row.src.includes(':');
      assert.equal(ip.ipVersion, v6 ? 6 : 4);
      const [s, d] = v6
        ? [ip.ip.subarray(8, 24), ip.ip.subarray(24, 40)]
        : [ip.ip.subarray(12, 16), ip.ip.subarray(16, 20)];
      assert.deepEqual(new Uint8Array(s), parseIp(row.src), `${name} frame ${r.frame} src`);
      assert.deepEqual(new Uint8Array(d), parseIp(row.dst), `${name} frame ${r.frame} dst`);
    });
  }
});

/** Rewrites a little-endian classic pcap in big-endian order, optionally with nanosecond timestamps. */
function reencodePcap(le: Uint8Array, opts: { bigEndian: boolean; nanoseconds: boolean }): Uint8Array {
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const out = new Uint8Array(le.length);
  const dst = new DataView(out.buffer);
  const w = !opts.bigEndian;
  dst.setUint32(0, opts.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, w);
  dst.setUint16(4, src.getUint16(4, true), w);
  dst.setUint16(6, src.getUint16(6, true), w);
  for (const at of [8, 12, 16, 20]) dst.setUint32(at, src.getUint32(at, true), w);
  let at = 24;
  while (at < le.length) {
    const incl = src.getUint32(at + 8, true);
    dst.setUint32(at, src.getUint32(at, true), w);
    dst.setUint32(
      at + 4,
      src.getUint32(at + 4, true) * (opts.nanoseconds ? 1000 : 1) + (opts.nanoseconds ? 999 : 0),
      w,
    );
    dst.setUint32(at + 8, incl, w);
    dst.setUint32(at + 12, src.getUint32(at + 12, true), w);
    out.set(le.subarray(at + 16, at + 16 + incl), at + 16);
    at += 16 + incl;
  }
  return out;
}

test('big-endian and nanosecond classic pcap read the same as the little-endian microsecond original', () => {
  const original = sharedBytes('kernel-ipv6-fallback');
  const want = capture(readCapture(original));
  for (const bigEndian of [false, true]) {
    for (const nanoseconds of [false, true]) {
      if (!bigEndian && !nanoseconds) continue;
      const bytes = reencodePcap(original, { bigEndian, nanoseconds });
      assert.notDeepEqual(bytes.subarray(0, 24), original.subarray(0, 24));
      const got = capture(readCapture(bytes));
      assert.equal(got.records.length, want.records.length);
      got.records.forEach((r, i) => {
        const w = want.records[i]!;
        // +999 ns per record must truncate away, not round up.
        assert.equal(r.timeUs, w.timeUs);
        assert.equal(r.linkType, w.linkType);
        assert.equal(r.originalLength, w.originalLength);
        assert.deepEqual(r.data, w.data);
      });
    }
  }
});

test('PcapWriter output reads back record for record, cut at the snap length', () => {
  const rng = new Rng(2024);
  const snapLen = 300;
  const w = new PcapWriter(LinkType.RAW, snapLen);
  const sent: { timeUs: number; packet: Uint8Array }[] = [];
  let t = 1_700_000_000_000_000;
  for (let i = 0; i < 200; i++) {
    t += rng.int(3_000_000);
    const packet = rng.fill(new Uint8Array(rng.int(600)));
    sent.push({ timeUs: t, packet });
    w.add(t, packet);
  }
  assert.equal(w.count, 200);
  assert.equal(w.dropped, 0);
  const bytes = w.toBytes();
  assert.deepEqual([...bytes.subarray(0, 8)], [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
  const c = capture(readCapture(bytes));
  assert.equal(c.format, 'pcap');
  assert.equal(c.records.length, 200);
  c.records.forEach((r, i) => {
    const s = sent[i]!;
    assert.equal(r.frame, i + 1);
    assert.equal(r.timeUs, s.timeUs);
    assert.equal(r.linkType, LinkType.RAW);
    assert.equal(r.originalLength, s.packet.length);
    assert.deepEqual(r.data, s.packet.subarray(0, snapLen));
  });
  assert.ok(
    sent.some((s) => s.packet.length > snapLen),
    'some packets exercise the snap length',
  );
});

test('a streaming PcapWriter hands out the header then one copied chunk per record, same bytes as in memory', () => {
  const chunks: Uint8Array[] = [];
  const streamed = new PcapWriter(LinkType.ETHERNET, 1000, { sink: (c) => chunks.push(c) });
  const kept = new PcapWriter(LinkType.ETHERNET, 1000);
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0]!.length, 24);
  const packet = new Uint8Array(60);
  for (let i = 0; i < 5; i++) {
    packet.fill(i);
    streamed.add(i * 1500, packet);
    kept.add(i * 1500, packet);
  }
  assert.equal(chunks.length, 6);
  assert.equal(streamed.count, 5);
  assert.equal(chunks[1]![16], 0, 'the sink got a copy, not the reused packet buffer');
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(kept.toBytes()));
  assert.throws(() => streamed.toBytes(), PcapWriterError);
});

test('PcapWriter keeps at most maxBytes and counts the records it drops', () => {
  const w = new PcapWriter(LinkType.RAW, 262144, { maxBytes: 24 + 2 * (16 + 100) + 20 });
  for (let i = 0; i < 5; i++) w.add(i, new Uint8Array(100));
  assert.equal(w.count, 2);
  assert.equal(w.dropped, 3);
  assert.equal(w.toBytes().length, 24 + 2 * 116);
  assert.equal(capture(readCapture(w.toBytes())).records.length, 2);
  // A small record still fits after a large one was refused.
  w.add(9, new Uint8Array(4));
  assert.equal(w.count, 3);
});

test('PcapWriter refuses misuse with PcapWriterError', () => {
  assert.throws(() => new PcapWriter(LinkType.RAW, 0), PcapWriterError);
  assert.throws(() => new PcapWriter(70000), PcapWriterError);
  assert.throws(() => new PcapWriter(LinkType.RAW, 100, { maxBytes: 10 }), PcapWriterError);
  const w = new PcapWriter();
  assert.throws(() => w.add(-1, new Uint8Array(1)), PcapWriterError);
  assert.throws(() => w.add(1.5, new Uint8Array(1)), PcapWriterError);
  assert.throws(() => w.add(2 ** 32 * 1_000_000, new Uint8Array(1)), PcapWriterError);
  assert.equal(w.count, 0);
});

/** A pcapng writer for tests, in either byte order. */
class PcapngBuilder {
  private readonly parts: Uint8Array[] = [];
  constructor(private readonly le: boolean) {}

  private fields(spec: [number, 2 | 4, number][], size: number): Uint8Array {
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    for (const [at, width, value] of spec) {
      if (width === 2) v.setUint16(at, value, this.le);
      else v.setUint32(at, value, this.le);
    }
    return b;
  }

  block(type: number, body: Uint8Array, lengthOverride?: number): this {
    const padded = (body.length + 3) & ~3;
    const length = lengthOverride ?? 12 + padded;
    const b = new Uint8Array(12 + padded);
    b.set(
      this.fields(
        [
          [0, 4, type],
          [4, 4, length],
        ],
        8,
      ),
    );
    b.set(body, 8);
    b.set(this.fields([[0, 4, length]], 4), 8 + padded);
    this.parts.push(b);
    return this;
  }

  option(code: number, value: Uint8Array): Uint8Array {
    const b = new Uint8Array(4 + ((value.length + 3) & ~3));
    b.set(
      this.fields(
        [
          [0, 2, code],
          [2, 2, value.length],
        ],
        4,
      ),
    );
    b.set(value, 4);
    return b;
  }

  shb(): this {
    const body = this.fields(
      [
        [0, 4, 0x1a2b3c4d],
        [4, 2, 1],
        [6, 2, 0],
      ],
      16,
    );
    body.fill(0xff, 8, 16); // section length unknown (-1)
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, snapLen: number, options: Uint8Array[] = []): this {
    const head = this.fields(
      [
        [0, 2, linkType],
        [4, 4, snapLen],
      ],
      8,
    );
    const end = options.length > 0 ? [this.option(0, new Uint8Array(0))] : [];
    return this.block(1, Buffer.concat([head, ...options, ...end]));
  }

  epb(ifIndex: number, units: bigint, data: Uint8Array, originalLength = data.length): this {
    const head = this.fields(
      [
        [0, 4, ifIndex],
        [4, 4, Number(units >> 32n)],
        [8, 4, Number(units & 0xffffffffn)],
        [12, 4, data.length],
        [16, 4, originalLength],
      ],
      20,
    );
    return this.block(6, Buffer.concat([head, data]));
  }

  spb(data: Uint8Array, originalLength = data.length): this {
    return this.block(3, Buffer.concat([this.fields([[0, 4, originalLength]], 4), data]));
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

const ipv4 = (payloadLength: number, fill: number): Uint8Array => {
  const p = new Uint8Array(20 + payloadLength).fill(fill);
  p[0] = 0x45;
  p[2] = (20 + payloadLength) >> 8;
  p[3] = (20 + payloadLength) & 0xff;
  return p;
};
const ipv6 = (payloadLength: number, fill: number): Uint8Array => {
  const p = new Uint8Array(40 + payloadLength).fill(fill);
  p[0] = 0x60;
  p[4] = payloadLength >> 8;
  p[5] = payloadLength & 0xff;
  return p;
};

test('pcapng in both byte orders: interfaces with their own link types and if_tsresol, unknown blocks skipped', () => {
  const sec = 1_795_217_109n;
  for (const le of [true, false]) {
    const b = new PcapngBuilder(le);
    const eth = frameIpPacket(LinkType.ETHERNET, ipv4(8, 1));
    const raw = ipv6(4, 2);
    const sll2 = frameIpPacket(LinkType.LINUX_SLL2, ipv4(0, 3));
    const offset = new Uint8Array(8);
    new DataView(offset.buffer).setBigInt64(0, 100n, le);
    b.shb()
      .idb(LinkType.ETHERNET, 65535, [b.option(2, new TextEncoder().encode('eth0'))]) // if_name, ignored
      .idb(LinkType.RAW, 65535, [b.option(9, new Uint8Array([9]))]) // nanoseconds
      .idb(LinkType.LINUX_SLL2, 65535, [b.option(9, new Uint8Array([0x80 | 20])), b.option(14, offset)]) // 2^-20 s, +100 s
      .epb(0, sec * 1_000_000n + 506_942n, eth)
      .block(0x00000005, new Uint8Array(12)) // interface statistics: skipped
      .epb(1, sec * 1_000_000_000n + 506_978_999n, raw)
      .block(0x40000bad, new Uint8Array(7)) // a custom block: skipped
      .epb(2, (sec << 20n) + (1n << 19n), sll2, 1500)
      // Simple packets: the captured length is implied by the original length and the (padded) block.
      .spb(eth.subarray(0, 32), 200)
      .spb(eth.subarray(0, 30))
      // A new section resets the interface list.
      .shb()
      .idb(LinkType.LINUX_SLL, 64)
      .epb(0, 5n, frameIpPacket(LinkType.LINUX_SLL, ipv6(100, 4)));
    const c = capture(readCapture(b.bytes()));
    assert.equal(c.format, 'pcapng');
    assert.equal(c.truncated, false);
    const base = Number(sec) * 1_000_000;
    assert.deepEqual(
      c.records.map((r) => [r.frame, r.linkType, r.timeUs, r.data.length, r.originalLength]),
      [
        [1, LinkType.ETHERNET, base + 506_942, eth.length, eth.length],
        [2, LinkType.RAW, base + 506_978, raw.length, raw.length],
        [3, LinkType.LINUX_SLL2, base + 100_000_000 + 500_000, sll2.length, 1500],
        [4, LinkType.ETHERNET, 0, 32, 200],
        [5, LinkType.ETHERNET, 0, 30, 30],
        [6, LinkType.LINUX_SLL, 5, 16 + 140, 16 + 140],
      ],
      le ? 'little-endian' : 'big-endian',
    );
    assert.deepEqual(c.records[0]!.data, eth);
    assert.deepEqual(ipPayloadOfFrame(c.records[1]!.linkType, c.records[1]!.data)?.ip, raw);
    assert.deepEqual(ipPayloadOfFrame(c.records[2]!.linkType, c.records[2]!.data)?.ip, ipv4(0, 3));
    assert.deepEqual(c.records[4]!.data, eth.subarray(0, 30));
    assert.deepEqual(ipPayloadOfFrame(c.records[5]!.linkType, c.records[5]!.data)?.ip, ipv6(100, 4));
  }
});

test('Linux SLL and SLL2 frames written by hand give their IP packets; other protocols give null', () => {
  const ip = ipv4(4, 9);
  // SLL: packet type 0, ARPHRD_ETHER (1), address length 6, MAC padded to 8, protocol.
  const sll = new Uint8Array([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00, ...ip]);
  assert.deepEqual(ipPayloadOfFrame(LinkType.LINUX_SLL, sll), { ipVersion: 4, ip });
  // SLL2: protocol, reserved, ifindex 3, ARPHRD_ETHER, packet type 4 (outgoing), address length 6, address.
  const v6 = ipv6(0, 1);
  const sll2 = new Uint8Array([0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...v6]);
  assert.deepEqual(ipPayloadOfFrame(LinkType.LINUX_SLL2, sll2), { ipVersion: 6, ip: v6 });
  const arp = sll.slice();
  arp[14] = 0x08;
  arp[15] = 0x06;
  assert.equal(ipPayloadOfFrame(LinkType.LINUX_SLL, arp), null);
  assert.equal(ipPayloadOfFrame(LinkType.LINUX_SLL2, sll2.subarray(0, 19)), null);
  // The protocol says IPv4 but the packet is IPv6: not an IP frame we can use.
  const lying = sll.slice();
  lying[16] = 0x60;
  assert.equal(ipPayloadOfFrame(LinkType.LINUX_SLL, lying), null);
});

test('Ethernet with 802.1Q and 802.1ad tags, padding trimmed, and null/loopback, raw and typed-raw links', () => {
  const ip = ipv4(6, 7); // 26 bytes: Ethernet pads to 46
  const tagged = new Uint8Array([
    ...new Uint8Array(12),
    0x88,
    0xa8,
    0,
    10,
    0x81,
    0x00,
    0,
    20,
    0x08,
    0x00,
    ...ip,
    ...new Uint8Array(20).fill(0xee),
  ]);
  assert.deepEqual(ipPayloadOfFrame(LinkType.ETHERNET, tagged), { ipVersion: 4, ip });
  assert.equal(ipPayloadOfFrame(LinkType.ETHERNET, tagged.subarray(0, 20)), null, 'cut inside the tags');
  const arp = new Uint8Array([...new Uint8Array(12), 0x08, 0x06, ...ip]);
  assert.equal(ipPayloadOfFrame(LinkType.ETHERNET, arp), null);

  const v6 = ipv6(12, 5);
  for (const family of [
    [2, 0, 0, 0],
    [0, 0, 0, 2],
    [30, 0, 0, 0],
    [0, 0, 0, 10],
    [24, 0, 0, 0],
  ]) {
    const frame = new Uint8Array([...family, ...(family.includes(2) ? ip : v6)]);
    assert.deepEqual(
      ipPayloadOfFrame(LinkType.NULL, frame)?.ip,
      family.includes(2) ? ip : v6,
      `family ${family}`,
    );
  }
  assert.equal(ipPayloadOfFrame(LinkType.NULL, new Uint8Array([7, 0, 0, 0, ...ip])), null);

  for (const lt of [LinkType.RAW, 12, 14]) assert.equal(ipPayloadOfFrame(lt, v6)?.ipVersion, 6);
  assert.equal(ipPayloadOfFrame(LinkType.IPV4, v6), null);
  assert.equal(ipPayloadOfFrame(LinkType.IPV6, v6)?.ipVersion, 6);
  assert.equal(ipPayloadOfFrame(LinkType.RAW, new Uint8Array([0x50, 0])), null);
  assert.equal(ipPayloadOfFrame(LinkType.RAW, new Uint8Array(0)), null);
  assert.equal(ipPayloadOfFrame(147, ip), null, 'a link type we do not know');

  for (const lt of [
    LinkType.RAW,
    LinkType.ETHERNET,
    LinkType.LINUX_SLL,
    LinkType.LINUX_SLL2,
    LinkType.IPV6,
  ]) {
    assert.deepEqual(
      ipPayloadOfFrame(lt, frameIpPacket(lt, v6)),
      { ipVersion: 6, ip: v6 },
      `link type ${lt}`,
    );
  }
  assert.throws(() => frameIpPacket(LinkType.IPV4, v6), UnsupportedLinkTypeError);
  assert.throws(() => frameIpPacket(LinkType.NULL, v6), UnsupportedLinkTypeError);
  assert.throws(() => frameIpPacket(LinkType.RAW, new Uint8Array([0x20])), UnsupportedLinkTypeError);
});

test('non-captures and damaged headers are DecodeErrors; a cut last record is left out and flagged', () => {
  decodeError(readCapture(new Uint8Array(0)), 'pcap.truncated');
  decodeError(readCapture(new Uint8Array([0xd4, 0xc3])), 'pcap.truncated');
  decodeError(readCapture(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')), 'pcap.magic');
  const pcap = new PcapWriter(LinkType.RAW);
  for (let i = 0; i < 3; i++) pcap.add(i, ipv4(10, i));
  const p = pcap.toBytes();
  decodeError(readCapture(p.subarray(0, 20)), 'pcap.truncated');
  const v3 = p.slice();
  v3[4] = 3;
  decodeError(readCapture(v3), 'pcap.version');
  for (const cut of [p.length - 1, p.length - 30 + 10]) {
    const c = capture(readCapture(p.subarray(0, cut)));
    assert.equal(c.truncated, true);
    assert.equal(c.records.length, 2);
  }
  assert.equal(
    capture(readCapture(p.subarray(0, 24))).records.length,
    0,
    'a header alone is an empty capture',
  );

  const ng = () => new PcapngBuilder(true).shb().idb(LinkType.RAW, 0);
  const good = ng().epb(0, 1n, ipv4(0, 0)).epb(0, 2n, ipv4(0, 0)).bytes();
  const cut = capture(readCapture(good.subarray(0, good.length - 8)));
  assert.deepEqual([cut.truncated, cut.records.length], [true, 1]);
  decodeError(readCapture(good.subarray(0, 20)), 'pcap.truncated');
  decodeError(readCapture(good.subarray(0, 10)), 'pcap.truncated');
  const badBom = good.slice();
  badBom[8] = 0;
  decodeError(readCapture(badBom), 'pcapng.byte-order');
  const v2 = good.slice();
  v2[12] = 2;
  decodeError(readCapture(v2), 'pcapng.version');
  decodeError(readCapture(ng().block(6, new Uint8Array(24), 30).bytes()), 'pcapng.block-length');
  const trailer = good.slice();
  trailer[good.length - 4]! ^= 4;
  decodeError(readCapture(trailer), 'pcapng.block-length');
  decodeError(readCapture(ng().epb(1, 0n, ipv4(0, 0)).bytes()), 'pcapng.interface');
  decodeError(readCapture(new PcapngBuilder(true).shb().spb(ipv4(0, 0)).bytes()), 'pcapng.interface');
  const overrun = ng().epb(0, 0n, ipv4(0, 0)).bytes();
  const epb = overrun.length - (12 + 20 + 20); // block framing, packet fields, a 20-byte packet
  new DataView(overrun.buffer).setUint32(epb + 8 + 12, 100, true); // captured length 100 of 20
  decodeError(readCapture(overrun), 'pcapng.packet');
  const badOption = new PcapngBuilder(true).shb();
  const opt = badOption.option(9, new Uint8Array([6]));
  opt[2] = 200; // option length beyond the block
  decodeError(readCapture(badOption.idb(LinkType.RAW, 0, [opt]).bytes()), 'pcapng.option');
});

test('10,000 random and mutated inputs never throw, and decoded records stay inside the input', () => {
  const rng = new Rng(8684);
  const pcapSeed = new PcapWriter(LinkType.ETHERNET);
  for (let i = 0; i < 4; i++) pcapSeed.add(i * 1000, frameIpPacket(LinkType.ETHERNET, ipv4(20 + i, i)));
  const ngSeed = new PcapngBuilder(rng.chance(0.5))
    .shb()
    .idb(LinkType.LINUX_SLL2, 0, [new PcapngBuilder(true).option(9, new Uint8Array([9]))])
    .idb(LinkType.NULL, 0)
    .epb(0, 5n, frameIpPacket(LinkType.LINUX_SLL2, ipv6(8, 1)))
    .epb(1, 6n, new Uint8Array([2, 0, 0, 0, ...ipv4(4, 2)]))
    .spb(frameIpPacket(LinkType.LINUX_SLL2, ipv4(2, 3)))
    .bytes();
  const seeds = [pcapSeed.toBytes(), ngSeed, sharedBytes('kernel-ipv6-fallback').subarray(0, 2000)];
  const magics = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
  ];
  let decoded = 0;
  let errors = 0;
  let ipFound = 0;
  for (let i = 0; i < 10_000; i++) {
    let input: Uint8Array;
    const kind = i % 3;
    if (kind === 0) {
      input = rng.fill(new Uint8Array(rng.int(200)));
      if (input.length >= 4 && rng.chance(0.7)) input.set(magics[rng.int(magics.length)]!);
    } else {
      const seed = seeds[rng.int(seeds.length)]!;
      input = seed.slice(0, kind === 1 ? seed.length : rng.int(seed.length + 1));
      const flips = 1 + rng.int(kind === 1 ? 8 : 2);
      for (let f = 0; f < flips && input.length > 0; f++) input[rng.int(input.length)] = rng.u32() & 0xff;
    }
    let result: Capture | DecodeError;
    try {
      result = readCapture(input);
    } catch (e) {
      assert.fail(`input ${i} (${Buffer.from(input.subarray(0, 48)).toString('hex')}…) threw ${e}`);
    }
    if (result instanceof DecodeError) {
      errors++;
      assert.match(result.code, /^pcap(ng)?\.[a-z-]+$/);
      continue;
    }
    decoded++;
    result.records.forEach((r, n) => {
      assert.equal(r.frame, n + 1);
      assert.equal(r.data.buffer, input.buffer, 'records are views of the input');
      assert.ok(r.data.byteOffset + r.data.length <= input.byteOffset + input.length);
      const ip = ipPayloadOfFrame(r.linkType, r.data);
      if (ip) {
        ipFound++;
        assert.ok(ip.ip.length > 0 && ip.ip.length <= r.data.length);
      }
      ipPayloadOfFrame(rng.int(300), r.data);
    });
  }
  // Both outcomes occur often enough for the loop to exercise the record and block parsers.
  assert.ok(decoded > 2000, `decoded ${decoded}`);
  assert.ok(errors > 1000, `errors ${errors}`);
  assert.ok(ipFound > 2000, `IP packets found ${ipFound}`);
});

const tsharkMissing = existsSync(TSHARK)
  ? false
  : `tshark is not installed at ${TSHARK}; install it (see ../shared/WIRE.md) to check our captures with it`;

test('tshark opens PcapWriter captures of raw IPv4, raw IPv6, Ethernet and SLL2 frames', {
  skip: tsharkMissing,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-ts-pcap-'));
  try {
    const cases = [
      { name: 'kernel-3paths-prio-rmaddr', linkType: LinkType.RAW, field: 'ip.src' },
      { name: 'kernel-ipv6-fallback', linkType: LinkType.RAW, field: 'ipv6.src' },
      { name: 'kernel-3paths-prio-rmaddr', linkType: LinkType.LINUX_SLL2, field: 'ip.src' },
      { name: 'kernel-ipv6-fallback', linkType: LinkType.ETHERNET, field: 'ipv6.src' },
    ];
    for (const { name, linkType, field } of cases) {
      const rows = readTsv(name);
      const writer = new PcapWriter(linkType);
      for (const r of capture(readCapture(sharedBytes(name))).records) {
        const ip = ipPayloadOfFrame(r.linkType, r.data)!;
        writer.add(r.timeUs, linkType === LinkType.RAW ? ip.ip : frameIpPacket(linkType, ip.ip));
      }
      const file = join(dir, `${name}-${linkType}.pcap`);
      writeFileSync(file, writer.toBytes());
      const run = spawnSync(
        TSHARK,
        ['-r', file, '-T', 'fields', '-e', 'frame.number', '-e', field, '-e', 'frame.time_relative'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.equal(lines.length, rows.length, `${name} as link type ${linkType}`);
      lines.forEach((line, i) => {
        const [frame, src, rel] = line.split('\t');
        assert.equal(Number(frame), rows[i]!.frame);
        assert.equal(src, rows[i]!.src, `${name} link type ${linkType} frame ${frame}`);
        assert.equal(relativeUs(rel!), rows[i]!.timeUs);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
