import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dssChecksum, verifyDssChecksum } from '../../src/wire/dss-checksum.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeMptcpOption, encodeMptcpOption, mptcpOptionLength } from '../../src/wire/mptcp-options.ts';
import type { Dss, MptcpOption } from '../../src/wire/mptcp-types.ts';
import { CAPTURES_DIR } from '../support/captures.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function decode(raw: Uint8Array): MptcpOption {
  const o = decodeMptcpOption(raw, 0, raw.length);
  if (o instanceof DecodeError) assert.fail(`${toHex(raw)}: ${o}`);
  return o;
}

function encode(o: MptcpOption): Uint8Array {
  const out = new Uint8Array(mptcpOptionLength(o));
  assert.equal(encodeMptcpOption(o, out, 0), out.length);
  return out;
}

type Expected = Record<string, unknown> & { subtype: number; name: string; length: number; raw: string };

/** Compares a decoded option with tshark's fields in the capture vectors; every field must be accounted for. */
function compareWithCapture(o: MptcpOption, e: Expected): void {
  const seen = new Set(['subtype', 'name', 'length', 'raw']);
  const eq = (key: string, actual: unknown, expected: unknown = e[key]) => {
    seen.add(key);
    assert.deepEqual(actual, expected, `${e.raw}: ${key}`);
  };
  const big = (key: string) => (e[key] === undefined ? undefined : BigInt(e[key] as string));
  const flag = (key: string) => (e[key] === undefined ? undefined : e[key] === 1);
  assert.equal(o.subtype, e.name);
  switch (o.subtype) {
    case 'MP_CAPABLE':
      eq('version', o.version);
      eq('flags', o.flags);
      eq('checksum_required', (o.flags >>> 7) & 1);
      eq('extensibility', (o.flags >>> 6) & 1);
      eq('no_more_subflows', (o.flags >>> 5) & 1);
      eq('hmac_sha256', o.flags & 1);
      eq('sender_key', o.senderKey, big('sender_key'));
      eq('receiver_key', o.receiverKey, big('receiver_key'));
      eq('data_level_length', o.dataLength);
      eq('checksum', o.checksum);
      break;
    case 'MP_JOIN':
      eq('variant', o.form, { SYN: 'syn', 'SYN/ACK': 'synack', ACK: 'ack' }[e.variant as string]);
      if (o.form !== 'ack') {
        eq('backup', o.backup, flag('backup'));
        eq('addr_id', o.addressId);
      }
      eq('receiver_token', o.token);
      eq('sender_nonce', o.nonce);
      if (o.form === 'synack')
        eq('sender_truncated_hmac', BigInt(`0x${toHex(o.hmac!)}`), big('sender_truncated_hmac'));
      if (o.form === 'ack') eq('sender_hmac', toHex(o.hmac!));
      break;
    case 'DSS':
      eq('flags', hex(e.raw)[3]);
      eq('data_fin', o.dataFin, flag('data_fin'));
      eq('data_ack', o.dataAck, big('data_ack'));
      eq('data_ack_bytes', o.dataAck === undefined ? undefined : o.dataAck64 ? 8 : 4);
      eq('dsn', o.dsn, big('dsn'));
      eq('dsn_bytes', o.dsn === undefined ? undefined : o.dsn64 ? 8 : 4);
      eq('ssn', o.ssn);
      eq('data_level_length', o.dataLength);
      eq('checksum', o.checksum);
      break;
    case 'ADD_ADDR':
      eq('echo', o.echo, flag('echo'));
      eq('addr_id', o.addressId);
      eq('ip_version', o.address.includes(':') ? 6 : 4);
      eq('address', o.address);
      eq('port', o.port);
      eq(
        'truncated_hmac',
        o.hmac === undefined ? undefined : BigInt(`0x${toHex(o.hmac)}`),
        big('truncated_hmac'),
      );
      break;
    case 'REMOVE_ADDR':
      eq('addr_ids', o.addressIds);
      break;
    case 'MP_PRIO':
      eq('backup', o.backup, flag('backup'));
      break;
    case 'MP_FASTCLOSE':
      eq('receiver_key', o.receiverKey, big('receiver_key'));
      break;
    case 'MP_TCPRST':
      eq('flag_u', o.u, flag('flag_u'));
      eq('flag_v', o.v, flag('flag_v'));
      eq('flag_w', o.w, flag('flag_w'));
      eq('flag_t', o.transient, flag('flag_t'));
      eq('reason', o.reason);
      break;
    default:
      assert.fail(`no capture comparison for ${o.subtype}`);
  }
  for (const k of Object.keys(e)) assert.ok(seen.has(k), `${e.name} field ${k} is not compared`);
}

test('every MPTCP option in the kernel captures decodes to tshark’s values and re-encodes to the same bytes', () => {
  const forms = new Set<string>();
  let count = 0;
  for (const name of ['kernel-3paths-prio-rmaddr', 'kernel-ipv6-fallback']) {
    const doc = JSON.parse(readFileSync(`${CAPTURES_DIR}/${name}.expect.json`, 'utf8'));
    for (const p of doc.packets as { options: Expected[] }[]) {
      for (const e of p.options) {
        const raw = hex(e.raw);
        assert.equal(raw.length, e.length);
        const o = decode(raw);
        compareWithCapture(o, e);
        assert.equal(toHex(encode(o)), e.raw);
        forms.add(`${e.name}/${e.length}`);
        count++;
      }
    }
  }
  assert.equal(count, 478);
  // The captures hold these forms; the rest are covered by the hand-made vectors below.
  assert.deepEqual([...forms].sort(), [
    'ADD_ADDR/16',
    'ADD_ADDR/20',
    'ADD_ADDR/28',
    'ADD_ADDR/8',
    'DSS/12',
    'DSS/22',
    'DSS/26',
    'DSS/8',
    'MP_CAPABLE/12',
    'MP_CAPABLE/20',
    'MP_CAPABLE/22',
    'MP_CAPABLE/4',
    'MP_JOIN/12',
    'MP_JOIN/16',
    'MP_JOIN/24',
    'MP_PRIO/3',
    'REMOVE_ADDR/4',
  ]);
});

/** Hand-assembled bytes (RFC 8684 §3 layouts) for the forms the captures lack. */
const vectors: [string, string, MptcpOption][] = [
  [
    'MP_CAPABLE with data-level length and checksum (24)',
    '1e18 0181 1122334455667788 99aabbccddeeff00 05dc beef',
    {
      subtype: 'MP_CAPABLE',
      version: 1,
      flags: 0x81,
      senderKey: 0x1122334455667788n,
      receiverKey: 0x99aabbccddeeff00n,
      dataLength: 1500,
      checksum: 0xbeef,
    },
  ],
  ['MP_CAPABLE version 0 SYN', '1e04 00a1', { subtype: 'MP_CAPABLE', version: 0, flags: 0xa1 }],
  [
    'MP_JOIN SYN with backup and reserved bits',
    '1e0c 1b05 deadbeef 01020304',
    {
      subtype: 'MP_JOIN',
      form: 'syn',
      backup: true,
      addressId: 5,
      token: 0xdeadbeef,
      nonce: 0x01020304,
      reserved: 5,
    },
  ],
  [
    'MP_JOIN ACK with reserved bits',
    `1e18 1a5c ${'ab'.repeat(20)}`,
    {
      subtype: 'MP_JOIN',
      form: 'ack',
      backup: false,
      addressId: 0,
      hmac: new Uint8Array(20).fill(0xab),
      reserved: 0xa5c,
    },
  ],
  [
    'DSS with 4-byte DATA_ACK, 4-byte DSN, DATA_FIN and checksum (20)',
    '1e14 2015 00000064 000000c8 00000001 0010 1234',
    {
      subtype: 'DSS',
      dataFin: true,
      dataAck: 100n,
      dataAck64: false,
      dsn: 200n,
      dsn64: false,
      ssn: 1,
      dataLength: 16,
      checksum: 0x1234,
    },
  ],
  [
    'DSS with a mapping only, 8-byte DSN and checksum (20)',
    '1e14 200c ffffffffffffffff 00000000 0000 0000',
    {
      subtype: 'DSS',
      dataFin: false,
      dsn: 0xffffffffffffffffn,
      dsn64: true,
      ssn: 0,
      dataLength: 0,
      checksum: 0,
    },
  ],
  [
    'DSS with reserved bits and the a and m flags set while A and M are clear',
    '1e04 29ea',
    { subtype: 'DSS', dataFin: false, reserved: 0x9ea },
  ],
  [
    'ADD_ADDR IPv4 with port (18)',
    '1e12 3007 c0000201 1f90 0102030405060708',
    {
      subtype: 'ADD_ADDR',
      echo: false,
      addressId: 7,
      address: '192.0.2.1',
      port: 8080,
      hmac: hex('0102030405060708'),
    },
  ],
  [
    'ADD_ADDR IPv6 with port (30)',
    '1e1e 3009 20010db8000000000000000000000001 afc8 a1a2a3a4a5a6a7a8',
    {
      subtype: 'ADD_ADDR',
      echo: false,
      addressId: 9,
      address: '2001:db8::1',
      port: 45000,
      hmac: hex('a1a2a3a4a5a6a7a8'),
    },
  ],
  [
    'ADD_ADDR echo IPv4 with port (10)',
    '1e0a 3103 0a000001 01bb',
    { subtype: 'ADD_ADDR', echo: true, addressId: 3, address: '10.0.0.1', port: 443 },
  ],
  [
    'ADD_ADDR echo IPv6 with port and reserved bits (22)',
    '1e16 3f04 00000000000000000000ffff0a000001 0050',
    { subtype: 'ADD_ADDR', echo: true, addressId: 4, address: '::ffff:10.0.0.1', port: 80, reserved: 7 },
  ],
  ['REMOVE_ADDR with three ids', '1e06 4001 0203', { subtype: 'REMOVE_ADDR', addressIds: [1, 2, 3] }],
  [
    'MP_PRIO of RFC 6824 with address id (4)',
    '1e04 5102',
    { subtype: 'MP_PRIO', backup: true, addressId: 2 },
  ],
  ['MP_PRIO clearing backup', '1e03 50', { subtype: 'MP_PRIO', backup: false }],
  ['MP_FAIL', '1e0c 6000 0000000100000002', { subtype: 'MP_FAIL', dsn: 0x100000002n }],
  [
    'MP_FASTCLOSE with reserved bits',
    '1e0c 7123 8877665544332211',
    { subtype: 'MP_FASTCLOSE', receiverKey: 0x8877665544332211n, reserved: 0x123 },
  ],
  [
    'MP_TCPRST transient, reason 1',
    '1e04 8101',
    { subtype: 'MP_TCPRST', u: false, v: false, w: false, transient: true, reason: 1 },
  ],
  [
    'MP_TCPRST with U, V, W set, reason 6',
    '1e04 8e06',
    { subtype: 'MP_TCPRST', u: true, v: true, w: true, transient: false, reason: 6 },
  ],
  [
    'MP_EXPERIMENTAL (subtype 0xf) kept as bytes',
    '1e05 f1 aabb',
    { subtype: 'UNKNOWN', code: 15, data: hex('f1aabb') },
  ],
];

for (const [name, raw, expected] of vectors) {
  test(`vector: ${name}`, () => {
    const bytes = hex(raw);
    assert.deepEqual(decode(bytes), expected);
    assert.equal(toHex(encode(expected)), toHex(bytes));
  });
}

const allowed: Record<number, number[]> = {
  0: [4, 12, 20, 22, 24],
  1: [12, 16, 24],
  3: [8, 10, 16, 18, 20, 22, 28, 30],
  5: [3, 4],
  6: [12],
  7: [12],
  8: [4],
};
const names = [
  'mp_capable',
  'mp_join',
  'dss',
  'add_addr',
  'remove_addr',
  'mp_prio',
  'mp_fail',
  'mp_fastclose',
  'mp_tcprst',
];

test('each subtype accepts exactly the lengths RFC 8684 allows; others are DecodeErrors naming subtype and length', () => {
  const buf = new Uint8Array(300);
  for (let subtype = 0; subtype <= 8; subtype++) {
    if (subtype === 2) continue;
    for (let len = 3; len <= 255; len++) {
      buf.fill(0);
      buf[0] = 30;
      buf[1] = len;
      // E=1 for the echo lengths of ADD_ADDR.
      buf[2] = (subtype << 4) | (subtype === 3 && [8, 10, 20, 22].includes(len) ? 1 : 0);
      const r = decodeMptcpOption(buf, 0, len);
      const ok = subtype === 4 ? len >= 4 : allowed[subtype]!.includes(len);
      if (ok) assert.ok(!(r instanceof DecodeError), `subtype ${subtype} length ${len}: ${r}`);
      else {
        assert.ok(r instanceof DecodeError, `subtype ${subtype} length ${len} was accepted`);
        assert.equal(r.code, `${names[subtype]}.length`);
        assert.match(r.message, new RegExp(`^${names[subtype]!.toUpperCase()} length ${len} `));
      }
    }
  }
});

test('ADD_ADDR lengths depend on the E flag: an echo has no HMAC', () => {
  for (const [b2, len] of [
    [0x31, 16],
    [0x30, 8],
  ]) {
    const buf = new Uint8Array(len!);
    buf[0] = 30;
    buf[1] = len!;
    buf[2] = b2!;
    const r = decodeMptcpOption(buf, 0, len!);
    assert.ok(r instanceof DecodeError);
    assert.equal(r.code, 'add_addr.length');
  }
});

test('DSS: every flag combination accepts exactly its length (and +2 with a mapping), else dss.length', () => {
  const buf = new Uint8Array(64);
  for (let flags = 0; flags < 256; flags++) {
    const a = flags & 1 ? (flags & 2 ? 8 : 4) : 0;
    const m = flags & 4 ? (flags & 8 ? 14 : 10) : 0;
    const good = m ? [4 + a + m, 6 + a + m] : [4 + a];
    for (let len = 3; len <= 40; len++) {
      buf[0] = 30;
      buf[1] = len;
      buf[2] = 0x20;
      buf[3] = flags;
      const r = decodeMptcpOption(buf, 0, len);
      if (good.includes(len)) {
        assert.ok(!(r instanceof DecodeError) && r.subtype === 'DSS', `flags ${flags} length ${len}: ${r}`);
        assert.equal(r.checksum !== undefined, len === 6 + a + m);
        assert.equal(toHex(encode(r)), toHex(buf.subarray(0, len)));
      } else {
        assert.ok(r instanceof DecodeError, `flags ${flags} length ${len} was accepted`);
        assert.equal(r.code, 'dss.length');
      }
    }
  }
  const r = decodeMptcpOption(hex('1e092004000000000000000000'), 0, 9);
  assert.ok(r instanceof DecodeError);
  assert.equal(r.message, 'DSS length 9 does not match flags 0x04 (expected 14 or 16)');
  const r2 = decodeMptcpOption(hex('1e0a2003000000000000'), 0, 10);
  assert.ok(r2 instanceof DecodeError);
  assert.equal(r2.message, 'DSS length 10 does not match flags 0x03 (expected 12)');
});

test('32-bit DATA_ACK and DSN decode to their 32-bit value and re-encode as 4 bytes; 64-bit values are truncated to 32', () => {
  const o = decode(hex('1e12 2005 ffffffff 80000000 00000010 0100'));
  assert.deepEqual(o, {
    subtype: 'DSS',
    dataFin: false,
    dataAck: 0xffffffffn,
    dataAck64: false,
    dsn: 0x80000000n,
    dsn64: false,
    ssn: 16,
    dataLength: 256,
  });
  assert.equal(o.subtype, 'DSS');
  const wide: MptcpOption = { ...(o as Dss), dataAck: 0x1234ffffffffn, dsn: 0x980000000n };
  assert.equal(toHex(encode(wide)), '1e122005ffffffff80000000000000100100');
});

test('the decoder never reads outside buf[start..start+len)', () => {
  const raw = hex('1e1a200f1beb6bd095913eaa1f3366727f8d259a0000000110b0');
  // Same option in the middle of a larger buffer, surrounded by bytes that would change the result.
  const big = new Uint8Array(raw.length + 20).fill(0xff);
  big.set(raw, 10);
  assert.deepEqual(decodeMptcpOption(big, 10, raw.length), decode(raw));
  const short = raw.subarray(0, raw.length - 1);
  const r = decodeMptcpOption(short, 0, raw.length);
  assert.ok(r instanceof DecodeError);
  assert.equal(r.code, 'mptcp.truncated');
  const r2 = decodeMptcpOption(raw, 0, 2);
  assert.ok(r2 instanceof DecodeError);
  assert.equal(r2.code, 'mptcp.length');
  assert.ok(decodeMptcpOption(raw, -1, 4) instanceof DecodeError);
});

test('encoding an inconsistent option throws a TypeError that says what is missing', () => {
  const bad: [MptcpOption, RegExp][] = [
    [{ subtype: 'DSS', dataFin: false, dsn: 1n, ssn: 1 }, /dsn, ssn and dataLength/],
    [{ subtype: 'DSS', dataFin: false, checksum: 1 }, /checksum only with them/],
    [{ subtype: 'MP_CAPABLE', version: 1, flags: 1, receiverKey: 1n }, /needs senderKey/],
    [{ subtype: 'MP_CAPABLE', version: 1, flags: 1, senderKey: 1n, checksum: 1 }, /checksum needs/],
    [{ subtype: 'MP_JOIN', form: 'syn', backup: false, addressId: 0, token: 1 }, /token and nonce/],
    [{ subtype: 'MP_JOIN', form: 'synack', backup: false, addressId: 0, nonce: 1 }, /8-byte truncated hmac/],
    [
      { subtype: 'MP_JOIN', form: 'ack', backup: false, addressId: 0, hmac: new Uint8Array(8) },
      /20-byte hmac/,
    ],
    [
      { subtype: 'ADD_ADDR', echo: false, addressId: 1, address: '10.0.0.1' },
      /exactly when it is not an echo/,
    ],
    [
      { subtype: 'ADD_ADDR', echo: false, addressId: 1, address: '10.0.0.1', hmac: new Uint8Array(4) },
      /8 bytes, not 4/,
    ],
    [
      { subtype: 'ADD_ADDR', echo: true, addressId: 1, address: '10.0.0.256' },
      /not an IPv4 address: give dotted IPv4/,
    ],
    [{ subtype: 'REMOVE_ADDR', addressIds: [] }, /1 to 252 address ids/],
    [{ subtype: 'UNKNOWN', code: 12, data: new Uint8Array(0) }, /1 to 253 bytes/],
  ];
  for (const [o, re] of bad) assert.throws(() => mptcpOptionLength(o), { name: 'TypeError', message: re });
  assert.throws(
    () => encodeMptcpOption({ subtype: 'MP_PRIO', backup: true }, new Uint8Array(4), 2),
    RangeError,
  );
});

test('DSS checksum of a hand-computed example (RFC 8684 §3.3.1)', () => {
  // Pseudo-header words: DSN 0102 0304 0506 0708, SSN 0000 000a, length 0004, checksum 0000; payload aabb ccdd.
  // Sum = 0x187ba -> folded 0x87bb -> complemented 0x7844.
  const payload = hex('aabbccdd');
  assert.equal(dssChecksum(0x0102030405060708n, 10, 4, payload), 0x7844);
  assert.ok(verifyDssChecksum(0x0102030405060708n, 10, 4, 0x7844, payload));
  assert.ok(!verifyDssChecksum(0x0102030405060708n, 10, 4, 0x7845, payload));
  assert.ok(!verifyDssChecksum(0x0102030405060708n, 11, 4, 0x7844, payload));
  // Odd payload in a sub-range: the last byte is padded with zero.
  const framed = hex('ff aabbcc ff');
  // 0x0102+0x0304+0x0506+0x0708+0x000a+0x0003+0xaabb+0xcc00 = 0x186dc -> 0x86dd -> 0x7922
  assert.equal(dssChecksum(0x0102030405060708n, 10, 3, framed, 1, 4), 0x7922);
});

test('DSS checksum over a real mapping: the DSN is 64-bit even when the option carried 32 bits', () => {
  const payload = new Uint8Array(1000);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
  const dsn = 0xfedcba9876543210n;
  const c = dssChecksum(dsn, 0xfffffff0, 1001, payload);
  assert.ok(verifyDssChecksum(dsn, 0xfffffff0, 1001, c, payload));
  assert.ok(!verifyDssChecksum(dsn & 0xffffffffn, 0xfffffff0, 1001, c, payload));
  payload[999] ^= 1;
  assert.ok(!verifyDssChecksum(dsn, 0xfffffff0, 1001, c, payload));
});
