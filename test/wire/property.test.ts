/**
 * Property tests of the wire codecs on seeded random inputs: random valid structures survive
 * encode -> decode unchanged, and random valid bytes survive decode -> encode unchanged.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../src/util/rng.ts';
import { formatIp, formatIpv6, parseIp } from '../../src/wire/address.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeIp, encodeIp, type Ipv4Header, type Ipv6Header } from '../../src/wire/ip.ts';
import {
  DssFlag,
  decodeMptcpOption,
  encodeMptcpOption,
  mptcpOptionLength,
} from '../../src/wire/mptcp-options.ts';
import type { MptcpOption } from '../../src/wire/mptcp-types.ts';
import {
  decodeTcp,
  encodeTcp,
  TCP_OPTIONS_MAX,
  type TcpHeader,
  type TcpOption,
  tcpOptionsLength,
  verifyTcpChecksum,
} from '../../src/wire/tcp.ts';

const CASES = 10_000;
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (rng: Rng, n: number): Uint8Array => rng.fill(new Uint8Array(n));
const big32 = (rng: Rng): bigint => BigInt(rng.u32());

/** Sets `reserved` on about one option in five, to cover the bits kept for exact re-encoding. */
function withReserved<T extends MptcpOption>(rng: Rng, o: T, bits: number): T {
  if (rng.chance(0.2)) {
    const r = 1 + rng.int((1 << bits) - 1);
    (o as { reserved?: number }).reserved = r;
  }
  return o;
}

/** A random IPv4 or IPv6 address as canonical text; IPv6 often has zero runs, sometimes is IPv4-mapped. */
function address(rng: Rng, v6: boolean): string {
  if (!v6) return formatIp(bytes(rng, 4));
  const b = bytes(rng, 16);
  if (rng.chance(0.1)) {
    b.fill(0, 0, 10);
    b[10] = b[11] = 0xff;
  } else if (rng.chance(0.6)) {
    const from = rng.int(8);
    b.fill(0, 2 * from, 2 * (from + 1 + rng.int(8 - from)));
  }
  return formatIpv6(b);
}

/** Generators of every subtype; each takes the form index (cycled by the caller) and returns a valid option. */
const generators: Record<string, { forms: number; gen: (rng: Rng, form: number) => MptcpOption }> = {
  MP_CAPABLE: {
    forms: 5,
    gen: (rng, form) => {
      const o: MptcpOption = { subtype: 'MP_CAPABLE', version: rng.int(16), flags: rng.int(256) };
      if (form >= 1) o.senderKey = rng.u64();
      if (form >= 2) o.receiverKey = rng.u64();
      if (form >= 3) o.dataLength = rng.int(65536);
      if (form >= 4) o.checksum = rng.int(65536);
      return o;
    },
  },
  MP_JOIN: {
    forms: 3,
    gen: (rng, form) => {
      if (form === 2)
        return withReserved(
          rng,
          { subtype: 'MP_JOIN', form: 'ack', backup: false, addressId: 0, hmac: bytes(rng, 20) },
          12,
        );
      const base = { subtype: 'MP_JOIN' as const, backup: rng.chance(0.5), addressId: rng.int(256) };
      return withReserved(
        rng,
        form === 0
          ? { ...base, form: 'syn', token: rng.u32(), nonce: rng.u32() }
          : { ...base, form: 'synack', hmac: bytes(rng, 8), nonce: rng.u32() },
        3,
      );
    },
  },
  DSS: {
    // 3 DATA_ACK forms (none, 4, 8) × 5 mapping forms (none, 4/8-byte DSN with/without checksum) × DATA_FIN.
    forms: 30,
    gen: (rng, form) => {
      const ack = form % 3;
      const map = Math.floor(form / 3) % 5;
      const o: MptcpOption = { subtype: 'DSS', dataFin: form >= 15 };
      if (ack) {
        o.dataAck64 = ack === 2;
        o.dataAck = ack === 2 ? rng.u64() : big32(rng);
      }
      if (map) {
        o.dsn64 = map >= 3;
        o.dsn = map >= 3 ? rng.u64() : big32(rng);
        o.ssn = rng.u32();
        o.dataLength = rng.int(65536);
        if (map % 2 === 0) o.checksum = rng.int(65536);
      }
      // Reserved bits: the 4 after the subtype and the 3 above F; a and m when A and M are clear.
      if (rng.chance(0.2)) {
        let r = (rng.int(16) << 8) | (rng.int(8) << 5);
        if (!ack && rng.chance(0.5)) r |= DssFlag.a;
        if (!map && rng.chance(0.5)) r |= DssFlag.m;
        if (r) o.reserved = r;
      }
      return o;
    },
  },
  ADD_ADDR: {
    // IPv4/IPv6 × port or not × echo or not: lengths 16/18/28/30 and echo 8/10/20/22.
    forms: 8,
    gen: (rng, form) => {
      const echo = (form & 4) !== 0;
      const o: MptcpOption = {
        subtype: 'ADD_ADDR',
        echo,
        addressId: rng.int(256),
        address: address(rng, (form & 1) !== 0),
      };
      if (form & 2) o.port = rng.int(65536);
      if (!echo) o.hmac = bytes(rng, 8);
      return withReserved(rng, o, 3);
    },
  },
  REMOVE_ADDR: {
    forms: 1,
    gen: (rng) =>
      withReserved(
        rng,
        { subtype: 'REMOVE_ADDR', addressIds: Array.from({ length: 1 + rng.int(37) }, () => rng.int(256)) },
        4,
      ),
  },
  MP_PRIO: {
    forms: 2,
    gen: (rng, form) =>
      withReserved(
        rng,
        form
          ? { subtype: 'MP_PRIO', backup: rng.chance(0.5), addressId: rng.int(256) }
          : { subtype: 'MP_PRIO', backup: rng.chance(0.5) },
        3,
      ),
  },
  MP_FAIL: { forms: 1, gen: (rng) => withReserved(rng, { subtype: 'MP_FAIL', dsn: rng.u64() }, 12) },
  MP_FASTCLOSE: {
    forms: 1,
    gen: (rng) => withReserved(rng, { subtype: 'MP_FASTCLOSE', receiverKey: rng.u64() }, 12),
  },
  MP_TCPRST: {
    forms: 1,
    gen: (rng) => ({
      subtype: 'MP_TCPRST',
      u: rng.chance(0.5),
      v: rng.chance(0.5),
      w: rng.chance(0.5),
      transient: rng.chance(0.5),
      reason: rng.int(256),
    }),
  },
  UNKNOWN: {
    forms: 1,
    gen: (rng) => {
      const code = 9 + rng.int(7);
      const data = bytes(rng, 1 + rng.int(30));
      data[0] = (code << 4) | (data[0]! & 0x0f);
      return { subtype: 'UNKNOWN', code, data };
    },
  },
};

const subtypeNames = Object.keys(generators);

function randomOption(rng: Rng): MptcpOption {
  const g = generators[subtypeNames[rng.int(subtypeNames.length)]!]!;
  return g.gen(rng, rng.int(g.forms));
}

function encodeOption(o: MptcpOption): Uint8Array {
  const out = new Uint8Array(mptcpOptionLength(o));
  assert.equal(encodeMptcpOption(o, out, 0), out.length);
  return out;
}

for (const [name, { forms, gen }] of Object.entries(generators)) {
  test(`${name}: ${CASES} random valid options of each of its ${forms} forms round-trip exactly`, () => {
    const rng = new Rng(0x5eed0000 + subtypeNames.indexOf(name));
    const lengths = new Set<number>();
    for (let i = 0; i < CASES * forms; i++) {
      const o = gen(rng, i % forms);
      const b = encodeOption(o);
      lengths.add(b.length);
      const d = decodeMptcpOption(b, 0, b.length);
      if (d instanceof DecodeError) assert.fail(`${toHex(b)}: ${d}`);
      assert.deepEqual(d, o);
      assert.equal(toHex(encodeOption(d)), toHex(b));
    }
    // Every form was produced (UNKNOWN and REMOVE_ADDR vary in length within their one form).
    assert.ok(lengths.size >= forms || name === 'DSS', `${name}: ${[...lengths]}`);
  });
}

/** Random bytes with a valid length for their subtype (and flags): decode then encode gives the bytes back. */
function randomValidBytes(rng: Rng): Uint8Array {
  const subtype = rng.int(16);
  const lengths: Record<number, number[]> = {
    0: [4, 12, 20, 22, 24],
    1: [12, 16, 24],
    5: [3, 4],
    6: [12],
    7: [12],
    8: [4],
  };
  let len: number;
  const b2 = (subtype << 4) | rng.int(16);
  let b3 = rng.int(256);
  if (subtype === 2) {
    len = 4 + (b3 & DssFlag.A ? (b3 & DssFlag.a ? 8 : 4) : 0);
    if (b3 & DssFlag.M) len += (b3 & DssFlag.m ? 14 : 10) + (rng.chance(0.5) ? 2 : 0);
  } else if (subtype === 3) {
    const echo = b2 & 1;
    len = (echo ? 4 : 12) + (rng.chance(0.5) ? 4 : 16) + (rng.chance(0.5) ? 2 : 0);
  } else if (subtype === 4) len = 4 + rng.int(36);
  else if (lengths[subtype]) {
    const l = lengths[subtype]!;
    len = l[rng.int(l.length)]!;
  } else len = 3 + rng.int(37);
  if (len === 3) b3 = 0;
  const out = bytes(rng, len);
  out[0] = 30;
  out[1] = len;
  out[2] = b2;
  if (len > 3) out[3] = b3;
  return out;
}

test(`${CASES * 5} random valid option bytes of every subtype decode and re-encode to the same bytes`, () => {
  const rng = new Rng(0xb17e5);
  const subtypes = new Set<number>();
  for (let i = 0; i < CASES * 5; i++) {
    const b = randomValidBytes(rng);
    const d = decodeMptcpOption(b, 0, b.length);
    if (d instanceof DecodeError) assert.fail(`${toHex(b)}: ${d}`);
    subtypes.add(b[2]! >>> 4);
    const again = encodeOption(d);
    if (toHex(again) !== toHex(b)) assert.fail(`${toHex(b)} re-encoded as ${toHex(again)}`);
  }
  assert.equal(subtypes.size, 16);
});

/** A random option list of at most 40 bytes, padded to a multiple of 4 with an explicit EOL. */
function randomTcpOptions(rng: Rng): TcpOption[] {
  const options: TcpOption[] = [];
  let used = 0;
  for (let tries = 0; tries < 8; tries++) {
    let o: TcpOption;
    switch (rng.int(9)) {
      case 0:
        o = { kind: 'nop' };
        break;
      case 1:
        o = { kind: 'mss', mss: rng.int(65536) };
        break;
      case 2:
        o = { kind: 'wscale', shift: rng.int(256) };
        break;
      case 3:
        o = { kind: 'sackPermitted' };
        break;
      case 4:
        o = {
          kind: 'sack',
          blocks: Array.from({ length: 1 + rng.int(4) }, () => ({ left: rng.u32(), right: rng.u32() })),
        };
        break;
      case 5:
        o = { kind: 'timestamp', tsval: rng.u32(), tsecr: rng.u32() };
        break;
      case 6:
        o = { kind: 'unknown', type: 9 + rng.int(20), data: bytes(rng, rng.int(6)) };
        break;
      default:
        o = { kind: 'mptcp', mptcp: randomOption(rng) };
    }
    const n = tcpOptionsLength([o]);
    if (used + n > TCP_OPTIONS_MAX) continue;
    options.push(o);
    used += n;
  }
  if (used % 4) options.push({ kind: 'eol', padding: new Uint8Array(3 - (used % 4)) });
  return options;
}

test(`${CASES} random TCP segments with option lists up to 40 bytes round-trip through encodeTcp/decodeTcp`, () => {
  const rng = new Rng(7);
  const src = new Uint8Array([10, 0, 0, 1]);
  const dst = new Uint8Array([10, 0, 0, 2]);
  let mptcp = 0;
  for (let i = 0; i < CASES; i++) {
    const h: TcpHeader = {
      srcPort: rng.int(65536),
      dstPort: rng.int(65536),
      seq: rng.u32(),
      ack: rng.u32(),
      flags: rng.int(256),
      reserved: rng.int(16),
      window: rng.int(65536),
      checksum: 0,
      urgent: rng.int(65536),
      options: randomTcpOptions(rng),
    };
    const payload = bytes(rng, rng.int(64));
    const b = encodeTcp(h, payload, { src, dst });
    assert.ok(verifyTcpChecksum(src, dst, b));
    const d = decodeTcp(b);
    if (d instanceof DecodeError) assert.fail(`${toHex(b)}: ${d}`);
    const { headerLength, payload: p, checksum, ...header } = d;
    assert.deepEqual(header, withoutChecksum(h));
    assert.equal(headerLength, b.length - payload.length);
    assert.equal(toHex(p), toHex(payload));
    assert.equal(checksum, (b[16]! << 8) | b[17]!);
    assert.equal(toHex(encodeTcp(d, d.payload)), toHex(b));
    if (h.options.some((o) => o.kind === 'mptcp')) mptcp++;
  }
  assert.ok(mptcp > CASES / 2);
});

function withoutChecksum(h: TcpHeader): Omit<TcpHeader, 'checksum'> {
  const { checksum: _, ...rest } = h;
  return rest;
}

test(`${CASES} random IPv4 and IPv6 packets round-trip through encodeIp/decodeIp`, () => {
  const rng = new Rng(0x1b);
  for (let i = 0; i < CASES; i++) {
    const payload = bytes(rng, rng.int(100));
    let h: Ipv4Header | Ipv6Header;
    if (rng.chance(0.5)) {
      h = {
        version: 4,
        dscp: rng.int(64),
        ecn: rng.int(4),
        id: rng.int(65536),
        flags: rng.int(8),
        fragmentOffset: rng.int(8192),
        ttl: rng.int(256),
        protocol: rng.int(256),
        src: bytes(rng, 4),
        dst: bytes(rng, 4),
        options: bytes(rng, 4 * rng.int(11)),
      };
    } else {
      // Extension headers: a chain of destination-options headers of random lengths, ending in TCP.
      const n = rng.int(3);
      const parts: Uint8Array[] = [];
      for (let k = 0; k < n; k++) {
        const e = bytes(rng, 8 * (1 + rng.int(3)));
        e[0] = k === n - 1 ? 6 : 60;
        e[1] = e.length / 8 - 1;
        parts.push(e);
      }
      const extensions = new Uint8Array(parts.reduce((s, e) => s + e.length, 0));
      let at = 0;
      for (const e of parts) {
        extensions.set(e, at);
        at += e.length;
      }
      h = {
        version: 6,
        trafficClass: rng.int(256),
        flowLabel: rng.int(1 << 20),
        nextHeader: n ? 60 : 6,
        hopLimit: rng.int(256),
        src: bytes(rng, 16),
        dst: bytes(rng, 16),
        extensions,
      };
    }
    const b = encodeIp(h, payload);
    const d = decodeIp(b);
    if (d instanceof DecodeError) assert.fail(`${toHex(b)}: ${d}`);
    assert.equal(toHex(d.payload), toHex(payload));
    for (const [k, v] of Object.entries(h))
      assert.deepEqual((d as unknown as Record<string, unknown>)[k], v, k);
    if (d.version === 6) assert.equal(d.protocol, 6);
    assert.equal(toHex(encodeIp(d, d.payload)), toHex(b));
  }
});

test(`${CASES} random addresses: text round-trips, and IPv6 text is canonical`, () => {
  const rng = new Rng(0xadd7);
  for (let i = 0; i < CASES; i++) {
    const text = address(rng, rng.chance(0.8));
    const b = parseIp(text);
    if (b instanceof DecodeError) assert.fail(`${text}: ${b}`);
    assert.equal(formatIp(b), text);
    if (b.length === 16 && !text.includes('.')) {
      assert.doesNotMatch(text, /(^|:)0[0-9a-f]/, text);
      assert.doesNotMatch(text, /[A-F]/);
      assertZeroRunsCanonical(text);
    }
  }
});

/** RFC 5952 §4.2: `::` replaces the first longest run of at least two zero groups, and only that. */
function assertZeroRunsCanonical(text: string): void {
  const halves = text.split('::');
  assert.ok(halves.length <= 2, text);
  const runs = (groups: string[]) => {
    const out: number[] = [];
    let n = 0;
    for (const g of [...groups, 'x']) {
      if (g === '0') n++;
      else if (n) {
        out.push(n);
        n = 0;
      }
    }
    return out;
  };
  const split = (h: string | undefined) => (h ? h.split(':') : []);
  const before = runs(split(halves[0]));
  const after = runs(split(halves[1]));
  if (halves.length === 1) {
    assert.ok(
      [...before].every((r) => r === 1),
      text,
    );
    return;
  }
  const compressed = 8 - split(halves[0]).length - split(halves[1]).length;
  assert.ok(compressed >= 2, text);
  assert.ok(before.every((r) => r < compressed) && after.every((r) => r <= compressed), text);
}

const TSHARK_FIELDS = [
  'subtype',
  'version',
  'flags',
  'addrid',
  'sendkey',
  'recvkey',
  'recvtok',
  'sendrand',
  'sendtrunchmac',
  'sendhmac',
  'addaddrtrunchmac',
  'rawdataack',
  'rawdataseqno',
  'subflowseqno',
  'datalvllen',
  'checksum',
  'echo',
  'ipv4',
  'ipv6',
  'port',
  'rst_reason',
  'flag_T.flag',
  'flag_U.flag',
  'backup.flag',
  'datafin.flag',
];

/** What tshark 4.0 should print for `o` (tshark 4.0 does not show DSS checksums). */
function tsharkView(o: MptcpOption, b: Uint8Array): Record<string, string> {
  const dec = (v: bigint | number | undefined) => (v === undefined ? '' : v.toString());
  const hex8 = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
  const bit = (v: boolean) => (v ? '1' : '0');
  const trunc = (h: Uint8Array | undefined) => (h ? BigInt(`0x${toHex(h)}`).toString() : '');
  const v: Record<string, string> = { subtype: String(b[2]! >>> 4) };
  switch (o.subtype) {
    case 'MP_CAPABLE':
      Object.assign(v, {
        version: String(o.version),
        flags: hex8(o.flags),
        sendkey: dec(o.senderKey),
        recvkey: dec(o.receiverKey),
        datalvllen: dec(o.dataLength),
        checksum: o.checksum === undefined ? '' : `0x${o.checksum.toString(16).padStart(4, '0')}`,
      });
      break;
    case 'MP_JOIN':
      Object.assign(v, {
        flags: o.form === 'ack' ? '' : hex8(b[2]!),
        recvtok: dec(o.token),
        sendrand: dec(o.nonce),
        sendtrunchmac: o.form === 'synack' ? trunc(o.hmac) : '',
        sendhmac: o.form === 'ack' ? toHex(o.hmac!) : '',
      });
      if (o.form !== 'ack') Object.assign(v, { addrid: String(o.addressId), 'backup.flag': bit(o.backup) });
      break;
    case 'DSS':
      Object.assign(v, {
        flags: hex8(b[3]!),
        rawdataack: dec(o.dataAck),
        rawdataseqno: dec(o.dsn),
        subflowseqno: dec(o.ssn),
        datalvllen: dec(o.dataLength),
        'datafin.flag': bit(o.dataFin),
      });
      break;
    case 'ADD_ADDR': {
      const v6 = o.address.includes(':');
      Object.assign(v, {
        addrid: String(o.addressId),
        echo: bit(o.echo),
        ipv4: v6 ? '' : o.address,
        ipv6: v6 ? o.address : '',
        port: dec(o.port),
        addaddrtrunchmac: trunc(o.hmac),
      });
      break;
    }
    case 'REMOVE_ADDR':
      v.addrid = o.addressIds.join(',');
      break;
    case 'MP_PRIO':
      Object.assign(v, { flags: hex8(b[2]!), 'backup.flag': bit(o.backup), addrid: dec(o.addressId) });
      break;
    case 'MP_FAIL':
      v.rawdataseqno = dec(o.dsn);
      break;
    case 'MP_FASTCLOSE':
      v.recvkey = dec(o.receiverKey);
      break;
    case 'MP_TCPRST':
      Object.assign(v, {
        flags: hex8(b[2]!),
        rst_reason: hex8(o.reason),
        'flag_T.flag': bit(o.transient),
        'flag_U.flag': bit(o.u),
      });
      break;
  }
  return v;
}

test('tshark (an independent decoder) reads random options of every known subtype and form as encoded', (t) => {
  if (spawnSync('tshark', ['--version']).status !== 0) {
    t.skip('tshark is not installed (apt-get install tshark, see WIRE.md)');
    return;
  }
  const rng = new Rng(0x75a4);
  const options: MptcpOption[] = [];
  for (const name of subtypeNames) {
    if (name === 'UNKNOWN') continue;
    const { forms, gen } = generators[name]!;
    for (let i = 0; i < 20 * forms; i++) {
      const o = gen(rng, i % forms);
      // tshark reads MP_CAPABLE by the version-1 layouts only, and takes ADD_ADDR reserved bits 0100 or 0110
      // for RFC 6824's IP version: only the meaningful bits are checked here.
      if (o.subtype === 'MP_CAPABLE') o.version = 1;
      delete (o as { reserved?: number }).reserved;
      options.push(o);
    }
  }
  // A classic pcap of raw IPv4 packets (link type 101), one option per TCP segment.
  const src = new Uint8Array([10, 0, 0, 1]);
  const dst = new Uint8Array([10, 0, 0, 2]);
  const parts: Uint8Array[] = [];
  const fileHeader = new DataView(new ArrayBuffer(24));
  fileHeader.setUint32(0, 0xa1b2c3d4, true);
  fileHeader.setUint16(4, 2, true);
  fileHeader.setUint16(6, 4, true);
  fileHeader.setUint32(16, 65535, true);
  fileHeader.setUint32(20, 101, true);
  parts.push(new Uint8Array(fileHeader.buffer));
  const encoded: Uint8Array[] = [];
  options.forEach((o, k) => {
    const b = encodeOption(o);
    encoded.push(b);
    const syn = o.subtype === 'MP_JOIN' && o.form === 'syn';
    const tcpOptions: TcpOption[] = [{ kind: 'mptcp', mptcp: o }];
    if (b.length % 4) tcpOptions.push({ kind: 'eol', padding: new Uint8Array(3 - (b.length % 4)) });
    const tcp = encodeTcp(
      {
        srcPort: 45000 + (k % 50),
        dstPort: 45100,
        seq: k,
        ack: 1,
        flags: syn ? 0x02 : 0x10,
        reserved: 0,
        window: 1000,
        checksum: 0,
        urgent: 0,
        options: tcpOptions,
      },
      undefined,
      { src, dst },
    );
    const ip = encodeIp(
      {
        version: 4,
        dscp: 0,
        ecn: 0,
        id: k,
        flags: 2,
        fragmentOffset: 0,
        ttl: 64,
        protocol: 6,
        src,
        dst,
        options: new Uint8Array(0),
      },
      tcp,
    );
    const rec = new DataView(new ArrayBuffer(16));
    rec.setUint32(0, k, true);
    rec.setUint32(8, ip.length, true);
    rec.setUint32(12, ip.length, true);
    parts.push(new Uint8Array(rec.buffer), ip);
  });
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-wire-'));
  try {
    const file = join(dir, 'options.pcap');
    writeFileSync(file, Buffer.concat(parts));
    const out = execFileSync(
      'tshark',
      [
        '-r',
        file,
        '-o',
        'mptcp.analyze_mptcp:FALSE',
        '-T',
        'fields',
        '-E',
        'occurrence=a',
        '-E',
        'aggregator=,',
        ...TSHARK_FIELDS.flatMap((f) => ['-e', `tcp.options.mptcp.${f}`]),
        '-e',
        '_ws.malformed',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
    );
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, options.length);
    lines.forEach((line, k) => {
      const cells = line.split('\t');
      const got: Record<string, string> = {};
      TSHARK_FIELDS.forEach((f, j) => {
        got[f] = f === 'sendhmac' ? cells[j]!.replaceAll(':', '') : cells[j]!;
      });
      assert.equal(cells[TSHARK_FIELDS.length] ?? '', '', `frame ${k + 1} is malformed for tshark`);
      const want = tsharkView(options[k]!, encoded[k]!);
      for (const [f, value] of Object.entries(want))
        assert.equal(got[f], value, `frame ${k + 1} (${toHex(encoded[k]!)}): ${f}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
