/**
 * MPTCP keys, tokens, IDSNs and HMACs (RFC 8684 §3.1, §3.2, §3.4.1), HMAC-SHA256 only (MP_CAPABLE H flag).
 * Keys are 64-bit and travel big-endian; randomness for simulation comes from the engine's seeded Rng.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Rng } from './util/rng.ts';

const U64_MAX = (1n << 64n) - 1n;

/** An argument out of range: a key outside 0..2^64-1, a nonce outside 0..2^32-1, a bad address or port. */
export class CryptoArgumentError extends RangeError {
  override name = 'CryptoArgumentError';
}

/** No key with a free token was found: the token space is (nearly) full or the lookup always says "in use". */
export class TokenExhaustedError extends Error {
  override name = 'TokenExhaustedError';
}

/** Token and IDSN of a key, from one SHA-256. */
export interface KeyMaterial {
  token: number;
  idsn: bigint;
}

// Scratch buffers: hash and HMAC inputs are copied by node:crypto, so reuse is safe.
const keyBytes = new Uint8Array(8);
const hmacKey = new Uint8Array(16);
const nonceMsg = new Uint8Array(8);
const addAddrMsg = new Uint8Array(1 + 16 + 2);

function checkKey(key: bigint): void {
  if (typeof key !== 'bigint' || key < 0n || key > U64_MAX) {
    throw new CryptoArgumentError(`MPTCP keys are unsigned 64-bit bigints; got ${String(key)}`);
  }
}

function checkNonce(nonce: number): void {
  if (!Number.isInteger(nonce) || nonce < 0 || nonce > 0xffffffff) {
    throw new CryptoArgumentError(`MP_JOIN nonces are unsigned 32-bit integers; got ${nonce}`);
  }
}

function put64(out: Uint8Array, at: number, v: bigint): void {
  const hi = Number(v >> 32n);
  const lo = Number(v & 0xffffffffn);
  put32(out, at, hi);
  put32(out, at + 4, lo);
}

function put32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

const get32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function sha256OfKey(key: bigint): Uint8Array {
  checkKey(key);
  put64(keyBytes, 0, key);
  return createHash('sha256').update(keyBytes).digest();
}

function hmacSha256(keyFirst: bigint, keySecond: bigint, msg: Uint8Array): Uint8Array {
  checkKey(keyFirst);
  checkKey(keySecond);
  put64(hmacKey, 0, keyFirst);
  put64(hmacKey, 8, keySecond);
  return createHmac('sha256', hmacKey).update(msg).digest();
}

/** A 64-bit key from the engine's seeded generator (deterministic in simulation). */
export function generateKey(rng: Rng): bigint {
  return rng.u64();
}

/** A 64-bit key from the operating system's CSPRNG, for real drivers. */
export function randomKey(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

/** The token: most significant 32 bits of SHA-256(key) (RFC 8684 §3.2). */
export function token(key: bigint): number {
  return get32(sha256OfKey(key), 0);
}

/** The initial data sequence number: least significant 64 bits of SHA-256(key) (RFC 8684 §3.1). */
export function idsn(key: bigint): bigint {
  const d = sha256OfKey(key);
  return (BigInt(get32(d, 24)) << 32n) | BigInt(get32(d, 28));
}

/** Token and IDSN together, from a single hash. */
export function keyMaterial(key: bigint): KeyMaterial {
  const d = sha256OfKey(key);
  return { token: get32(d, 0), idsn: (BigInt(get32(d, 24)) << 32n) | BigInt(get32(d, 28)) };
}

/**
 * Draws keys until one's token is not in use (RFC 8684 §3.1: the token must be unique on this host),
 * giving up with TokenExhaustedError after `maxAttempts` draws.
 */
export function generateUniqueKey(
  rng: Rng,
  isTokenInUse: (token: number) => boolean,
  maxAttempts = 16,
): KeyMaterial & { key: bigint } {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const key = generateKey(rng);
    const m = keyMaterial(key);
    if (!isTokenInUse(m.token)) return { key, token: m.token, idsn: m.idsn };
  }
  throw new TokenExhaustedError(
    `no key with an unused token after ${maxAttempts} attempts; release connections or raise maxAttempts`,
  );
}

/**
 * The MP_JOIN SYN/ACK HMAC: leftmost 64 bits of HMAC-SHA256(KeyB‖KeyA, RB‖RA), B being the responder
 * (RFC 8684 §3.2).
 */
export function joinSynAckHmac(keyB: bigint, keyA: bigint, nonceB: number, nonceA: number): Uint8Array {
  checkNonce(nonceB);
  checkNonce(nonceA);
  put32(nonceMsg, 0, nonceB);
  put32(nonceMsg, 4, nonceA);
  return new Uint8Array(hmacSha256(keyB, keyA, nonceMsg).subarray(0, 8));
}

/** The MP_JOIN third-ACK HMAC: leftmost 160 bits of HMAC-SHA256(KeyA‖KeyB, RA‖RB), A the initiator. */
export function joinAckHmac(keyA: bigint, keyB: bigint, nonceA: number, nonceB: number): Uint8Array {
  checkNonce(nonceA);
  checkNonce(nonceB);
  put32(nonceMsg, 0, nonceA);
  put32(nonceMsg, 4, nonceB);
  return new Uint8Array(hmacSha256(keyA, keyB, nonceMsg).subarray(0, 20));
}

/**
 * The ADD_ADDR HMAC: rightmost 64 bits of HMAC-SHA256(senderKey‖receiverKey, id‖address‖port), the port
 * as 2 bytes and 0 when absent (RFC 8684 §3.4.1).
 */
export function addAddrHmac(
  senderKey: bigint,
  receiverKey: bigint,
  addressId: number,
  address: Uint8Array,
  port?: number,
): Uint8Array {
  if (address.length !== 4 && address.length !== 16) {
    throw new CryptoArgumentError(
      `ADD_ADDR addresses are 4 (IPv4) or 16 (IPv6) bytes; got ${address.length}`,
    );
  }
  if (!Number.isInteger(addressId) || addressId < 0 || addressId > 255) {
    throw new CryptoArgumentError(`address ids are 0..255; got ${addressId}`);
  }
  const p = port ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 0xffff)
    throw new CryptoArgumentError(`ports are 0..65535; got ${p}`);
  addAddrMsg[0] = addressId;
  addAddrMsg.set(address, 1);
  const end = 1 + address.length;
  addAddrMsg[end] = p >>> 8;
  addAddrMsg[end + 1] = p & 0xff;
  const d = hmacSha256(senderKey, receiverKey, addAddrMsg.subarray(0, end + 2));
  return new Uint8Array(d.subarray(d.length - 8));
}

/** Compares a received HMAC with the expected one in constant time; different lengths never match. */
export function hmacEqual(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}
