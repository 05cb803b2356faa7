import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  addAddrHmac,
  CryptoArgumentError,
  generateKey,
  generateUniqueKey,
  hmacEqual,
  idsn,
  joinAckHmac,
  joinSynAckHmac,
  keyMaterial,
  randomKey,
  TokenExhaustedError,
  token,
} from '../src/crypto.ts';
import { Rng } from '../src/util/rng.ts';
import { CAPTURES_DIR } from './support/captures.ts';

const CAPTURES = CAPTURES_DIR;

interface ExpectOption {
  name: string;
  variant?: string;
  sender_key?: string;
  receiver_key?: string;
  receiver_token?: number;
  sender_nonce?: number;
  sender_truncated_hmac?: string;
  sender_hmac?: string;
  echo?: number;
  addr_id?: number;
  address?: string;
  port?: number;
  truncated_hmac?: string;
}

interface ExpectPacket {
  frame: number;
  ip_version: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  tcp_stream: number;
  options: ExpectOption[];
}

interface ExpectEndpoint {
  side: string;
  key: string;
  token: number;
  idsn: string;
}

interface Expect {
  connections: { connection: number; endpoints: Record<string, ExpectEndpoint> }[];
  packets: ExpectPacket[];
}

const load = (name: string): Expect => JSON.parse(readFileSync(`${CAPTURES}/${name}.expect.json`, 'utf8'));

/** The endpoint name used by `connections[].endpoints`: `a.b.c.d:port` or `[v6]:port`. */
const endpointName = (version: number, addr: string, port: number): string =>
  version === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;

const toBigint = (b: Uint8Array): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function parseIpv4(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  assert.equal(parts.length, 4, s);
  return new Uint8Array(parts);
}

function parseIpv6(s: string): Uint8Array {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const groups = (x: string | undefined): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  assert.equal(all.length, 8, s);
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** One MPTCP connection as learnt from its MP_CAPABLE handshake: the key of each endpoint. */
interface Conn {
  keyOf: Map<string, bigint>;
}

/** Per TCP stream: which connection it belongs to, the key of each of its endpoints, and MP_JOIN state. */
interface Stream {
  conn: Conn;
  keyOf: Map<string, bigint>;
  join?: { keyA: bigint; keyB: bigint; nonceA: number; nonceB?: number };
}

interface Tally {
  keys: number;
  synAck: number;
  ack: number;
  addAddr: number;
}

function verifyCapture(name: string): Tally {
  const ex = load(name);
  const tally: Tally = { keys: 0, synAck: 0, ack: 0, addAddr: 0 };
  const streams = new Map<number, Stream>();
  const conns: Conn[] = [];

  // First pass: keys from MP_CAPABLE. The SYN/ACK carries the responder's key, the third ACK both.
  for (const p of ex.packets) {
    const src = endpointName(p.ip_version, p.src, p.sport);
    const dst = endpointName(p.ip_version, p.dst, p.dport);
    for (const o of p.options) {
      if (o.name !== 'MP_CAPABLE' || o.sender_key === undefined) continue;
      let s = streams.get(p.tcp_stream);
      if (!s) {
        const conn: Conn = { keyOf: new Map() };
        conns.push(conn);
        s = { conn, keyOf: conn.keyOf };
        streams.set(p.tcp_stream, s);
      }
      const setKey = (ep: string, key: bigint) => {
        const known = s.keyOf.get(ep);
        if (known !== undefined) assert.equal(known, key, `${name} frame ${p.frame}: key of ${ep} changed`);
        s.keyOf.set(ep, key);
      };
      setKey(src, BigInt(o.sender_key));
      if (o.receiver_key !== undefined) setKey(dst, BigInt(o.receiver_key));
    }
  }
  assert.ok(conns.length > 0, `${name}: no MP_CAPABLE keys found`);

  // The keys learnt from the handshake are the ones the capture lists; tokens and IDSNs recomputed.
  const listed = ex.connections.filter((c) => Object.keys(c.endpoints).length > 0);
  assert.equal(listed.length, conns.length);
  for (const c of listed) {
    const conn = conns.find((k) => Object.keys(c.endpoints).every((ep) => k.keyOf.has(ep)));
    assert.ok(conn, `${name}: connection ${c.connection} not seen in MP_CAPABLE`);
    for (const [ep, e] of Object.entries(c.endpoints)) {
      const key = BigInt(e.key);
      assert.equal(conn.keyOf.get(ep), key, `${name}: key of ${ep}`);
      assert.equal(token(key), e.token, `${name}: token of ${ep}`);
      assert.equal(idsn(key), BigInt(e.idsn), `${name}: idsn of ${ep}`);
      assert.deepEqual(keyMaterial(key), { token: e.token, idsn: BigInt(e.idsn) });
      tally.keys++;
    }
  }

  // Second pass: MP_JOIN and ADD_ADDR, in capture order.
  for (const p of ex.packets) {
    const src = endpointName(p.ip_version, p.src, p.sport);
    const dst = endpointName(p.ip_version, p.dst, p.dport);
    for (const o of p.options) {
      const where = `${name} frame ${p.frame}`;
      if (o.name === 'MP_JOIN' && o.variant === 'SYN') {
        // The token names the responder's key; the initiator's key is the connection's other key.
        const owners = conns.filter((c) => [...c.keyOf.values()].some((k) => token(k) === o.receiver_token));
        assert.equal(owners.length, 1, `${where}: token ${o.receiver_token} matches one connection`);
        const conn = owners[0]!;
        const keyB = [...conn.keyOf.values()].find((k) => token(k) === o.receiver_token)!;
        const keyA = [...conn.keyOf.values()].find((k) => k !== keyB)!;
        streams.set(p.tcp_stream, {
          conn,
          keyOf: new Map([
            [src, keyA],
            [dst, keyB],
          ]),
          join: { keyA, keyB, nonceA: o.sender_nonce! },
        });
      } else if (o.name === 'MP_JOIN' && o.variant === 'SYN/ACK') {
        const join = streams.get(p.tcp_stream)?.join;
        assert.ok(join, `${where}: SYN/ACK without a SYN`);
        join.nonceB = o.sender_nonce!;
        const mac = joinSynAckHmac(join.keyB, join.keyA, join.nonceB, join.nonceA);
        assert.equal(mac.length, 8);
        assert.equal(toBigint(mac), BigInt(o.sender_truncated_hmac!), `${where}: SYN/ACK HMAC`);
        tally.synAck++;
      } else if (o.name === 'MP_JOIN' && o.variant === 'ACK') {
        const join = streams.get(p.tcp_stream)?.join;
        assert.ok(join?.nonceB !== undefined, `${where}: third ACK before the SYN/ACK`);
        const mac = joinAckHmac(join.keyA, join.keyB, join.nonceA, join.nonceB);
        assert.equal(mac.length, 20);
        assert.equal(hex(mac), o.sender_hmac, `${where}: third-ACK HMAC`);
        assert.ok(hmacEqual(mac, Buffer.from(o.sender_hmac!, 'hex')));
        tally.ack++;
      } else if (o.name === 'ADD_ADDR' && o.echo === 0) {
        const s = streams.get(p.tcp_stream);
        assert.ok(s, `${where}: ADD_ADDR on a stream of no known connection`);
        const senderKey = s.keyOf.get(src)!;
        const receiverKey = s.keyOf.get(dst)!;
        const addr = o.address!.includes(':') ? parseIpv6(o.address!) : parseIpv4(o.address!);
        const mac = addAddrHmac(senderKey, receiverKey, o.addr_id!, addr, o.port);
        assert.equal(toBigint(mac), BigInt(o.truncated_hmac!), `${where}: ADD_ADDR HMAC`);
        // The keys in the other order must not verify: the check depends on who sent it.
        assert.notEqual(
          toBigint(addAddrHmac(receiverKey, senderKey, o.addr_id!, addr, o.port)),
          toBigint(mac),
        );
        tally.addAddr++;
      }
    }
  }
  return tally;
}

test('tokens, IDSNs and every MP_JOIN / ADD_ADDR HMAC of the 3-path kernel capture are recomputed', () => {
  const t = verifyCapture('kernel-3paths-prio-rmaddr');
  assert.ok(t.keys + t.synAck + t.ack + t.addAddr > 0);
  // One connection (2 keys), two joins, two announced addresses (README of the captures).
  assert.deepEqual(t, { keys: 2, synAck: 2, ack: 2, addAddr: 2 });
});

test('tokens, IDSNs and HMACs of the IPv6 kernel capture (IPv6 ADD_ADDR) are recomputed', () => {
  const t = verifyCapture('kernel-ipv6-fallback');
  assert.ok(t.keys + t.synAck + t.ack + t.addAddr > 0);
  assert.deepEqual(t, { keys: 2, synAck: 1, ack: 1, addAddr: 1 });
});

test('HMACs change with every input, and hmacEqual rejects a flipped bit and a wrong length', () => {
  const a = 0x0123456789abcdefn;
  const b = 0xfedcba9876543210n;
  const base = joinAckHmac(a, b, 1, 2);
  assert.ok(hmacEqual(base, joinAckHmac(a, b, 1, 2)));
  assert.ok(!hmacEqual(base, joinAckHmac(a ^ 1n, b, 1, 2)));
  assert.ok(!hmacEqual(base, joinAckHmac(a, b, 1, 3)));
  assert.ok(!hmacEqual(base, joinAckHmac(b, a, 2, 1)));
  const flipped = base.slice();
  flipped[19]! ^= 0x80;
  assert.ok(!hmacEqual(base, flipped));
  assert.ok(!hmacEqual(base, base.subarray(0, 8)));
  // The SYN/ACK HMAC is the leftmost 64 bits of the same HMAC with the roles swapped.
  assert.deepEqual(joinSynAckHmac(b, a, 2, 1), joinAckHmac(b, a, 2, 1).subarray(0, 8));
  const v4 = new Uint8Array([10, 1, 2, 1]);
  const noPort = addAddrHmac(a, b, 2, v4);
  assert.deepEqual(addAddrHmac(a, b, 2, v4, 0), noPort, 'an absent port hashes as 0');
  assert.notDeepEqual(addAddrHmac(a, b, 2, v4, 45001), noPort);
  assert.notDeepEqual(addAddrHmac(a, b, 3, v4), noPort);
});

test('keys at the ends of the 64-bit range hash as 8 big-endian bytes', () => {
  // SHA-256 of eight zero bytes and of eight 0xff bytes, from coreutils sha256sum.
  const zero = Buffer.from('af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc', 'hex');
  const ones = Buffer.from('12a3ae445661ce5dee78d0650d33362dec29c4f82af05e7e57fb595bbbacf0ca', 'hex');
  assert.equal(token(0n), zero.readUInt32BE(0));
  assert.equal(idsn(0n), zero.readBigUInt64BE(24));
  assert.equal(token((1n << 64n) - 1n), ones.readUInt32BE(0));
  assert.equal(idsn((1n << 64n) - 1n), ones.readBigUInt64BE(24));
});

test('out-of-range keys, nonces, addresses and ports throw CryptoArgumentError', () => {
  assert.throws(() => token(-1n), CryptoArgumentError);
  assert.throws(() => token(1n << 64n), CryptoArgumentError);
  assert.throws(() => joinSynAckHmac(1n, 2n, 2 ** 32, 0), CryptoArgumentError);
  assert.throws(() => joinAckHmac(1n, 2n, 0, -1), CryptoArgumentError);
  assert.throws(() => joinAckHmac(1n, 2n, 0.5, 1), CryptoArgumentError);
  assert.throws(() => addAddrHmac(1n, 2n, 1, new Uint8Array(5)), CryptoArgumentError);
  assert.throws(() => addAddrHmac(1n, 2n, 256, new Uint8Array(4)), CryptoArgumentError);
  assert.throws(() => addAddrHmac(1n, 2n, 1, new Uint8Array(16), 65536), CryptoArgumentError);
});

test('generateKey is deterministic per seed; randomKey is 64-bit', () => {
  const k1 = generateKey(new Rng(42));
  assert.equal(k1, generateKey(new Rng(42)));
  assert.notEqual(k1, generateKey(new Rng(43)));
  assert.equal(k1, new Rng(42).u64());
  const keys = new Set<bigint>();
  for (let i = 0; i < 64; i++) {
    const k = randomKey();
    assert.ok(k >= 0n && k < 1n << 64n);
    keys.add(k);
  }
  assert.ok(keys.size > 60, 'randomKey repeats');
});

test('generateUniqueKey re-draws keys whose token is in use, and gives up with a typed error', () => {
  const seed = 7;
  const draws = new Rng(seed);
  const firstTwo = [generateKey(draws), generateKey(draws)];
  const taken = new Set([token(firstTwo[0]!)]);
  const got = generateUniqueKey(new Rng(seed), (t) => taken.has(t));
  assert.equal(got.key, firstTwo[1], 'the colliding first draw was skipped');
  assert.deepEqual({ token: got.token, idsn: got.idsn }, keyMaterial(got.key));

  const asked: number[] = [];
  assert.throws(
    () =>
      generateUniqueKey(
        new Rng(seed),
        (t) => {
          asked.push(t);
          return true;
        },
        5,
      ),
    TokenExhaustedError,
  );
  assert.equal(asked.length, 5);
  assert.equal(asked[0], token(firstTwo[0]!));
});
