/**
 * Fuzzing the decoders with seeded random and mutated inputs. A decoder must never throw, and whatever it
 * accepts must encode back to exactly the bytes it was decoded from (so nothing it returns is out of range).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Rng } from '../../src/util/rng.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { decodeIp, encodeIp } from '../../src/wire/ip.ts';
import { decodeMptcpOption, encodeMptcpOption, mptcpOptionLength } from '../../src/wire/mptcp-options.ts';
import { decodeTcp, encodeTcp } from '../../src/wire/tcp.ts';
import { CAPTURES_DIR } from '../support/captures.ts';

const CASES = 100_000;
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const CAPTURES = ['kernel-3paths-prio-rmaddr', 'kernel-ipv6-fallback'];

/** IP packets of the kernel captures (classic pcap, Ethernet). */
function captureIpPackets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const name of CAPTURES) {
    const file = new Uint8Array(readFileSync(`${CAPTURES_DIR}/${name}.pcap`));
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    for (let i = 24; i < file.length; ) {
      const caplen = view.getUint32(i + 8, true);
      out.push(file.slice(i + 16 + 14, i + 16 + caplen));
      i += 16 + caplen;
    }
  }
  return out;
}

const ipSeeds = captureIpPackets();
const tcpSeeds = ipSeeds.map((p) => {
  const ip = decodeIp(p);
  if (ip instanceof DecodeError) throw new Error(`capture packet does not decode: ${ip}`);
  return ip.payload.slice();
});
const optionSeeds = [
  ...new Set(
    CAPTURES.flatMap((name) =>
      JSON.parse(readFileSync(`${CAPTURES_DIR}/${name}.expect.json`, 'utf8')).packets.flatMap(
        (p: { options: { raw: string }[] }) => p.options.map((o) => o.raw),
      ),
    ),
  ),
  // Forms the captures lack.
  '1e1801811122334455667788 99aabbccddeeff0005dcbeef',
  '1e142015000000640000 00c8000000010010 1234',
  '1e12 3007 c0000201 1f90 0102030405060708',
  '1e1e 3009 20010db8000000000000000000000001 afc8 a1a2a3a4a5a6a7a8',
  '1e0a31030a00000101bb',
  '1e1631040000000000000000 0000ffff0a0000010050',
  '1e0645010203',
  '1e045102',
  '1e0c60000000000100000002',
  '1e0c70008877665544332211',
  '1e048101',
  '1e05f1aabb',
].map((h) => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex')));

/** Where a length lives in each kind of input, so mutations can aim at it. */
type Kind = 'option' | 'tcp' | 'ip';

function lengthFieldMutation(rng: Rng, b: Uint8Array, kind: Kind): void {
  if (b.length < 2) return;
  const v = rng.chance(0.5) ? rng.int(256) : (b[1]! + rng.int(7) - 3) & 0xff;
  if (kind === 'option') b[1] = v;
  else if (kind === 'tcp') {
    // The data offset nibble or the length byte of some option.
    if (b.length > 12 && rng.chance(0.3)) b[12] = (rng.int(16) << 4) | (b[12]! & 0x0f);
    else if (b.length > 21) b[21 + rng.int(Math.min(b.length, 60) - 21)] = v;
  } else if (b[0]! >>> 4 === 4) {
    if (rng.chance(0.5)) b[0] = 0x40 | rng.int(16);
    else if (b.length > 3) b[2 + rng.int(2)] = v;
  } else if (b.length > 48) {
    // Payload length, next header, or an extension header's length byte.
    const at = [4, 5, 6, 40, 41][rng.int(5)]!;
    b[at] = at === 6 || at === 40 ? [0, 6, 43, 44, 60, rng.int(256)][rng.int(6)]! : v;
  }
}

/** A position to mutate, mostly in the headers: payload bytes rarely matter to a decoder. */
function position(rng: Rng, b: Uint8Array, kind: Kind): number {
  const headers = kind === 'ip' ? 120 : 60;
  return rng.int(kind !== 'option' && rng.chance(0.8) ? Math.min(b.length, headers) : b.length);
}

function mutate(rng: Rng, seed: Uint8Array, kind: Kind): Uint8Array {
  let b = seed.slice();
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    switch (rng.int(6)) {
      case 0:
        if (b.length) b[position(rng, b, kind)]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[position(rng, b, kind)] = rng.int(256);
        break;
      case 2:
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 3: {
        const longer = new Uint8Array(b.length + 1 + rng.int(16));
        longer.set(b);
        rng.fill(longer.subarray(b.length));
        b = longer;
        break;
      }
      case 4:
        lengthFieldMutation(rng, b, kind);
        break;
      default: {
        // Insert or delete one byte.
        const at = position(rng, b, kind);
        if (rng.chance(0.5) && b.length) b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1)]);
        else b = new Uint8Array([...b.subarray(0, at), rng.int(256), ...b.subarray(at)]);
      }
    }
  }
  return b;
}

function randomInput(rng: Rng, kind: Kind): Uint8Array {
  const b = rng.fill(new Uint8Array(rng.int(kind === 'option' ? 48 : 120)));
  if (kind === 'option' && b.length > 2) {
    b[0] = 30;
    if (rng.chance(0.7)) b[1] = b.length;
  }
  if (kind === 'ip' && b.length) b[0] = ((rng.chance(0.5) ? 4 : 6) << 4) | (b[0]! & 0x0f);
  if (kind === 'tcp' && b.length > 12) b[12] = ((5 + rng.int(11)) << 4) | (b[12]! & 0x0f);
  return b;
}

/** Runs `check` on CASES inputs (3 in 4 mutated seeds, 1 in 4 random); fails with the first offending input. */
function fuzz(
  kind: Kind,
  seeds: Uint8Array[],
  seed: number,
  check: (input: Uint8Array, rng: Rng) => void,
): void {
  const rng = new Rng(seed);
  for (let i = 0; i < CASES; i++) {
    const input = rng.chance(0.75)
      ? mutate(rng, seeds[rng.int(seeds.length)]!, kind)
      : randomInput(rng, kind);
    try {
      check(input, rng);
    } catch (e) {
      assert.fail(`case ${i} (seed ${seed}), input ${toHex(input)}: ${e instanceof Error ? e.stack : e}`);
    }
  }
}

test(`decodeMptcpOption: ${CASES} mutated and random options never throw; accepted ones re-encode exactly`, () => {
  let accepted = 0;
  let rejected = 0;
  fuzz('option', optionSeeds, 1, (input, rng) => {
    // The option at a random offset in a larger buffer, with a length that may disagree with everything.
    const start = rng.int(4);
    const buf = new Uint8Array(start + input.length + rng.int(3));
    buf.set(input, start);
    const len = rng.chance(0.8) ? (input[1] ?? 0) : rng.int(300);
    const d = decodeMptcpOption(buf, start, len);
    // The same option alone in an exact-size buffer decodes the same: no byte past start+len was read.
    if (start + len <= buf.length && len >= 0)
      assert.deepEqual(decodeMptcpOption(buf.slice(start, start + len), 0, len), d);
    if (d instanceof DecodeError) {
      assert.match(d.code, /^[a-z_]+\.[a-z]+$/);
      rejected++;
      return;
    }
    accepted++;
    assert.ok(start + len <= buf.length, 'accepted an option that runs past the buffer');
    const out = new Uint8Array(mptcpOptionLength(d));
    assert.equal(out.length, len);
    encodeMptcpOption(d, out, 0);
    assert.equal(toHex(out.subarray(2)), toHex(buf.subarray(start + 2, start + len)));
  });
  // Both outcomes are common, so the fuzzing reaches past the length checks.
  assert.ok(accepted > CASES / 5 && rejected > CASES / 5, `${accepted} accepted, ${rejected} rejected`);
});

test(`decodeTcp: ${CASES} mutated and random segments never throw; accepted ones re-encode exactly`, () => {
  let accepted = 0;
  let malformed = 0;
  fuzz('tcp', tcpSeeds, 2, (input) => {
    const d = decodeTcp(input);
    if (d instanceof DecodeError) return;
    accepted++;
    if (d.options.some((o) => o.kind === 'mptcpMalformed')) malformed++;
    assert.equal(toHex(encodeTcp(d, d.payload)), toHex(input));
  });
  assert.ok(
    accepted > CASES / 4 && malformed > CASES / 200,
    `${accepted} accepted, ${malformed} malformed MPTCP`,
  );
});

test(`decodeIp: ${CASES} mutated and random packets never throw; accepted ones re-encode exactly`, () => {
  let accepted = 0;
  let tcp = 0;
  fuzz('ip', ipSeeds, 3, (input, rng) => {
    const verifyChecksum = rng.chance(0.5);
    const d = decodeIp(input, 0, input.length, { verifyChecksum });
    if (d instanceof DecodeError) return;
    accepted++;
    const again = encodeIp(d, d.payload);
    const expected = input.slice(0, again.length);
    if (d.version === 4) {
      assert.equal(again.length, d.totalLength);
      // The encoder computes the header checksum; the input's may be wrong when it was not verified.
      if (!verifyChecksum) {
        expected[10] = again[10]!;
        expected[11] = again[11]!;
      }
    } else assert.equal(again.length, 40 + d.payloadLength);
    assert.equal(toHex(again), toHex(expected));
    if (d.protocol === 6 && !(decodeTcp(d.payload) instanceof DecodeError)) tcp++;
  });
  assert.ok(accepted > CASES / 4 && tcp > CASES / 10, `${accepted} accepted, ${tcp} with a TCP segment`);
});
