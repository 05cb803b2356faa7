/**
 * The MPTCP option codec (RFC 8684 §3): TCP option kind 30, one layout per subtype and length. Decoding
 * never reads outside `buf[start..start+len)`; every byte a decoder accepts is kept (reserved bits too), so
 * encoding a decoded option gives back the same bytes.
 */
import { formatIpv4, formatIpv6, ipFromText } from './address.ts';
import { DecodeError } from './errors.ts';
import {
  type AddAddr,
  type Dss,
  MPTCP_KIND,
  type MpCapable,
  type MpJoin,
  type MpPrio,
  type MptcpOption,
  MptcpSubtype,
} from './mptcp-types.ts';

/** DSS flag bits in the fourth byte (RFC 8684 §3.3). */
export const DssFlag = {
  /** DATA_ACK present. */
  A: 0x01,
  /** DATA_ACK is 8 bytes. */
  a: 0x02,
  /** Mapping (DSN, SSN, data-level length) present. */
  M: 0x04,
  /** DSN is 8 bytes. */
  m: 0x08,
  /** DATA_FIN. */
  F: 0x10,
} as const;

/** Option lengths RFC 8684 allows, per form. */
export const MptcpLength = {
  CAPABLE_SYN: 4,
  CAPABLE_SYNACK: 12,
  CAPABLE_ACK: 20,
  CAPABLE_DATA: 22,
  CAPABLE_DATA_CSUM: 24,
  JOIN_SYN: 12,
  JOIN_SYNACK: 16,
  JOIN_ACK: 24,
  FAIL: 12,
  FASTCLOSE: 12,
  TCPRST: 4,
} as const;

const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

// 64-bit fields go through one scratch DataView: one bigint per value instead of several intermediates.
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

function u64(b: Uint8Array, i: number): bigint {
  scratch[0] = b[i]!;
  scratch[1] = b[i + 1]!;
  scratch[2] = b[i + 2]!;
  scratch[3] = b[i + 3]!;
  scratch[4] = b[i + 4]!;
  scratch[5] = b[i + 5]!;
  scratch[6] = b[i + 6]!;
  scratch[7] = b[i + 7]!;
  return scratchView.getBigUint64(0);
}

function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** Writes the low 64 bits of `v`. */
function put64(b: Uint8Array, i: number, v: bigint): void {
  scratchView.setBigUint64(0, v);
  // Byte by byte: cheaper than a TypedArray.set call for 8 bytes.
  b[i] = scratch[0]!;
  b[i + 1] = scratch[1]!;
  b[i + 2] = scratch[2]!;
  b[i + 3] = scratch[3]!;
  b[i + 4] = scratch[4]!;
  b[i + 5] = scratch[5]!;
  b[i + 6] = scratch[6]!;
  b[i + 7] = scratch[7]!;
}

/** Writes the low 32 bits of `v`. */
function put64Low32(b: Uint8Array, i: number, v: bigint): void {
  scratchView.setBigUint64(0, v);
  b[i] = scratch[4]!;
  b[i + 1] = scratch[5]!;
  b[i + 2] = scratch[6]!;
  b[i + 3] = scratch[7]!;
}

const lengthError = (name: string, len: number, expected: string): DecodeError =>
  new DecodeError(`${name.toLowerCase()}.length`, `${name} length ${len} is not ${expected}`);

// ---------------------------------------------------------------------------------------------- decoding

/** Decodes the MPTCP option in `buf[start..start+len)` (from the kind byte on; `len` is its length byte). */
export function decodeMptcpOption(buf: Uint8Array, start: number, len: number): MptcpOption | DecodeError {
  if (len < 3)
    return new DecodeError('mptcp.length', `MPTCP option length ${len} leaves no room for the subtype`);
  if (start < 0 || start + len > buf.length)
    return new DecodeError(
      'mptcp.truncated',
      `MPTCP option of length ${len} at byte ${start} runs past the ${buf.length}-byte buffer`,
    );
  const subtype = buf[start + 2]! >>> 4;
  switch (subtype) {
    case MptcpSubtype.DSS:
      return decodeDss(buf, start, len);
    case MptcpSubtype.MP_CAPABLE:
      return decodeCapable(buf, start, len);
    case MptcpSubtype.MP_JOIN:
      return decodeJoin(buf, start, len);
    case MptcpSubtype.ADD_ADDR:
      return decodeAddAddr(buf, start, len);
    case MptcpSubtype.REMOVE_ADDR: {
      if (len < 4) return lengthError('REMOVE_ADDR', len, '3 + at least one address id');
      const addressIds: number[] = [];
      for (let i = start + 3; i < start + len; i++) addressIds.push(buf[i]!);
      const reserved = buf[start + 2]! & 0x0f;
      return reserved
        ? { subtype: 'REMOVE_ADDR', addressIds, reserved }
        : { subtype: 'REMOVE_ADDR', addressIds };
    }
    case MptcpSubtype.MP_PRIO: {
      // Length 3 is RFC 8684's; length 4 (with an address id) is RFC 6824's.
      if (len !== 3 && len !== 4) return lengthError('MP_PRIO', len, '3 (or 4 with an address id)');
      const b2 = buf[start + 2]!;
      const o: MpPrio = { subtype: 'MP_PRIO', backup: (b2 & 1) === 1 };
      if (len === 4) o.addressId = buf[start + 3]!;
      if (b2 & 0x0e) o.reserved = (b2 >>> 1) & 7;
      return o;
    }
    case MptcpSubtype.MP_FAIL: {
      if (len !== MptcpLength.FAIL) return lengthError('MP_FAIL', len, '12');
      const reserved = ((buf[start + 2]! & 0x0f) << 8) | buf[start + 3]!;
      const dsn = u64(buf, start + 4);
      return reserved ? { subtype: 'MP_FAIL', dsn, reserved } : { subtype: 'MP_FAIL', dsn };
    }
    case MptcpSubtype.MP_FASTCLOSE: {
      if (len !== MptcpLength.FASTCLOSE) return lengthError('MP_FASTCLOSE', len, '12');
      const reserved = ((buf[start + 2]! & 0x0f) << 8) | buf[start + 3]!;
      const receiverKey = u64(buf, start + 4);
      return reserved
        ? { subtype: 'MP_FASTCLOSE', receiverKey, reserved }
        : { subtype: 'MP_FASTCLOSE', receiverKey };
    }
    case MptcpSubtype.MP_TCPRST: {
      if (len !== MptcpLength.TCPRST) return lengthError('MP_TCPRST', len, '4');
      const b2 = buf[start + 2]!;
      return {
        subtype: 'MP_TCPRST',
        u: (b2 & 8) !== 0,
        v: (b2 & 4) !== 0,
        w: (b2 & 2) !== 0,
        transient: (b2 & 1) !== 0,
        reason: buf[start + 3]!,
      };
    }
    default:
      return { subtype: 'UNKNOWN', code: subtype, data: buf.slice(start + 2, start + len) };
  }
}

/** DSS length for these flags (RFC 8684 §3.3), without the optional 2-byte checksum. */
function dssBaseLength(flags: number): number {
  let n = 4;
  if (flags & DssFlag.A) n += flags & DssFlag.a ? 8 : 4;
  if (flags & DssFlag.M) n += flags & DssFlag.m ? 14 : 10;
  return n;
}

function decodeDss(buf: Uint8Array, start: number, len: number): Dss | DecodeError {
  if (len < 4) return new DecodeError('dss.length', `DSS length ${len} leaves no room for the flags`);
  const flags = buf[start + 3]!;
  const base = dssBaseLength(flags);
  const hasMap = (flags & DssFlag.M) !== 0;
  // The checksum is there exactly when the length leaves room for it (it was negotiated, RFC 8684 §3.3.1).
  if (len !== base && !(hasMap && len === base + 2))
    return new DecodeError(
      'dss.length',
      `DSS length ${len} does not match flags 0x${flags.toString(16).padStart(2, '0')} (expected ${hasMap ? `${base} or ${base + 2}` : base})`,
    );
  const dataFin = (flags & DssFlag.F) !== 0;
  let i = start + 4;
  let meaning = DssFlag.F | DssFlag.A | DssFlag.M;
  const hasAck = (flags & DssFlag.A) !== 0;
  const dataAck64 = (flags & DssFlag.a) !== 0;
  let dataAck = 0n;
  if (hasAck) {
    meaning |= DssFlag.a;
    dataAck = dataAck64 ? u64(buf, i) : BigInt(u32(buf, i));
    i += dataAck64 ? 8 : 4;
  }
  // One object literal per shape (decoded on every data segment): V8 allocates it in one go.
  let d: Dss;
  if (hasMap) {
    meaning |= DssFlag.m;
    const dsn64 = (flags & DssFlag.m) !== 0;
    const dsn = dsn64 ? u64(buf, i) : BigInt(u32(buf, i));
    i += dsn64 ? 8 : 4;
    const ssn = u32(buf, i);
    const dataLength = u16(buf, i + 4);
    d = hasAck
      ? { subtype: 'DSS', dataFin, dataAck, dataAck64, dsn, dsn64, ssn, dataLength }
      : { subtype: 'DSS', dataFin, dsn, dsn64, ssn, dataLength };
    if (len === base + 2) d.checksum = u16(buf, i + 6);
  } else d = hasAck ? { subtype: 'DSS', dataFin, dataAck, dataAck64 } : { subtype: 'DSS', dataFin };
  const reserved = ((buf[start + 2]! & 0x0f) << 8) | (flags & ~meaning & 0xff);
  if (reserved) d.reserved = reserved;
  return d;
}

function decodeCapable(buf: Uint8Array, start: number, len: number): MpCapable | DecodeError {
  if (len !== 4 && len !== 12 && len !== 20 && len !== 22 && len !== 24)
    return lengthError('MP_CAPABLE', len, 'one of 4 (SYN), 12 (SYN/ACK), 20 (ACK), 22 or 24 (ACK with data)');
  const o: MpCapable = { subtype: 'MP_CAPABLE', version: buf[start + 2]! & 0x0f, flags: buf[start + 3]! };
  if (len >= 12) o.senderKey = u64(buf, start + 4);
  if (len >= 20) o.receiverKey = u64(buf, start + 12);
  if (len >= 22) o.dataLength = u16(buf, start + 20);
  if (len === 24) o.checksum = u16(buf, start + 22);
  return o;
}

function decodeJoin(buf: Uint8Array, start: number, len: number): MpJoin | DecodeError {
  const b2 = buf[start + 2]!;
  const backup = (b2 & 1) === 1;
  // Length 3 is refused below; no byte past the option is used.
  const addressId = len > 3 ? buf[start + 3]! : 0;
  let o: MpJoin;
  let reserved = (b2 >>> 1) & 7;
  switch (len) {
    case MptcpLength.JOIN_SYN:
      o = { subtype: 'MP_JOIN', form: 'syn', backup, addressId, token: u32(buf, start + 4) };
      o.nonce = u32(buf, start + 8);
      break;
    case MptcpLength.JOIN_SYNACK:
      o = { subtype: 'MP_JOIN', form: 'synack', backup, addressId, nonce: u32(buf, start + 12) };
      o.hmac = buf.slice(start + 4, start + 12);
      break;
    case MptcpLength.JOIN_ACK:
      // The third ACK has no B bit and no address id: those 12 bits are reserved.
      o = {
        subtype: 'MP_JOIN',
        form: 'ack',
        backup: false,
        addressId: 0,
        hmac: buf.slice(start + 4, start + 24),
      };
      reserved = ((b2 & 0x0f) << 8) | addressId;
      break;
    default:
      return lengthError('MP_JOIN', len, 'one of 12 (SYN), 16 (SYN/ACK), 24 (ACK)');
  }
  if (reserved) o.reserved = reserved;
  return o;
}

/** ADD_ADDR lengths (RFC 8684 §3.4.1): 4 + address (4|16) + port (0|2) + HMAC (8, not on echoes). */
function decodeAddAddr(buf: Uint8Array, start: number, len: number): AddAddr | DecodeError {
  const b2 = buf[start + 2]!;
  const echo = (b2 & 1) === 1;
  let rest = echo ? len - 4 : len - 12;
  const v6 = rest === 16 || rest === 18;
  if (!(v6 || rest === 4 || rest === 6))
    return lengthError(
      'ADD_ADDR',
      len,
      echo ? 'one of 8, 10, 20, 22 for an echo (E=1)' : 'one of 16, 18, 28, 30 for E=0',
    );
  const at = start + 4;
  const o: AddAddr = {
    subtype: 'ADD_ADDR',
    echo,
    addressId: buf[start + 3]!,
    address: v6 ? formatIpv6(buf, at) : formatIpv4(buf, at),
  };
  rest -= v6 ? 16 : 4;
  const after = at + (v6 ? 16 : 4);
  if (rest === 2) o.port = u16(buf, after);
  if (!echo) o.hmac = buf.slice(after + rest, after + rest + 8);
  if (b2 & 0x0e) o.reserved = (b2 >>> 1) & 7;
  return o;
}

// ---------------------------------------------------------------------------------------------- encoding

/** Encoded length in bytes (kind and length bytes included). Throws TypeError for an inconsistent option. */
export function mptcpOptionLength(opt: MptcpOption): number {
  switch (opt.subtype) {
    case 'DSS': {
      let n = 4;
      if (opt.dataAck !== undefined) n += opt.dataAck64 ? 8 : 4;
      const parts = +(opt.dsn !== undefined) + +(opt.ssn !== undefined) + +(opt.dataLength !== undefined);
      if (parts === 3) n += (opt.dsn64 ? 14 : 10) + (opt.checksum !== undefined ? 2 : 0);
      else if (parts !== 0 || opt.checksum !== undefined)
        throw new TypeError(
          'a DSS mapping needs dsn, ssn and dataLength together (and checksum only with them)',
        );
      return n;
    }
    case 'MP_CAPABLE':
      if (opt.checksum !== undefined) {
        if (opt.dataLength === undefined || opt.receiverKey === undefined || opt.senderKey === undefined)
          throw new TypeError('an MP_CAPABLE checksum needs senderKey, receiverKey and dataLength');
        return 24;
      }
      if (opt.dataLength !== undefined) {
        if (opt.receiverKey === undefined || opt.senderKey === undefined)
          throw new TypeError('an MP_CAPABLE dataLength needs senderKey and receiverKey');
        return 22;
      }
      if (opt.receiverKey !== undefined) {
        if (opt.senderKey === undefined) throw new TypeError('an MP_CAPABLE receiverKey needs senderKey');
        return 20;
      }
      return opt.senderKey !== undefined ? 12 : 4;
    case 'MP_JOIN':
      switch (opt.form) {
        case 'syn':
          if (opt.token === undefined || opt.nonce === undefined)
            throw new TypeError('an MP_JOIN SYN needs token and nonce');
          return 12;
        case 'synack':
          if (opt.hmac?.length !== 8 || opt.nonce === undefined)
            throw new TypeError('an MP_JOIN SYN/ACK needs an 8-byte truncated hmac and a nonce');
          return 16;
        case 'ack':
          if (opt.hmac?.length !== 20) throw new TypeError('an MP_JOIN ACK needs a 20-byte hmac');
          return 24;
      }
      throw new TypeError(`MP_JOIN form '${opt.form}' is not syn, synack or ack`);
    case 'ADD_ADDR': {
      if (opt.echo === (opt.hmac !== undefined))
        throw new TypeError('an ADD_ADDR carries an 8-byte hmac exactly when it is not an echo');
      if (opt.hmac !== undefined && opt.hmac.length !== 8)
        throw new TypeError(`an ADD_ADDR hmac has 8 bytes, not ${opt.hmac.length}`);
      return 4 + ipFromText(opt.address).length + (opt.port !== undefined ? 2 : 0) + (opt.echo ? 0 : 8);
    }
    case 'REMOVE_ADDR':
      if (opt.addressIds.length === 0 || opt.addressIds.length > 252)
        throw new TypeError(`a REMOVE_ADDR carries 1 to 252 address ids, not ${opt.addressIds.length}`);
      return 3 + opt.addressIds.length;
    case 'MP_PRIO':
      return opt.addressId !== undefined ? 4 : 3;
    case 'MP_FAIL':
      return MptcpLength.FAIL;
    case 'MP_FASTCLOSE':
      return MptcpLength.FASTCLOSE;
    case 'MP_TCPRST':
      return MptcpLength.TCPRST;
    case 'UNKNOWN':
      if (opt.data.length === 0 || opt.data.length > 253)
        throw new TypeError(
          `an unknown MPTCP option keeps 1 to 253 bytes from its subtype on, not ${opt.data.length}`,
        );
      return 2 + opt.data.length;
  }
}

/** Writes the option at `out[offset]`; returns the number of bytes written. */
export function encodeMptcpOption(opt: MptcpOption, out: Uint8Array, offset: number): number {
  const len = mptcpOptionLength(opt);
  if (offset < 0 || offset + len > out.length)
    throw new RangeError(
      `a ${len}-byte MPTCP option does not fit at byte ${offset} of a ${out.length}-byte buffer`,
    );
  const o = offset;
  out[o] = MPTCP_KIND;
  out[o + 1] = len;
  switch (opt.subtype) {
    case 'DSS':
      encodeDss(opt, out, o);
      break;
    case 'MP_CAPABLE':
      out[o + 2] = (MptcpSubtype.MP_CAPABLE << 4) | (opt.version & 0x0f);
      out[o + 3] = opt.flags;
      if (len >= 12) put64(out, o + 4, opt.senderKey!);
      if (len >= 20) put64(out, o + 12, opt.receiverKey!);
      if (len >= 22) put16(out, o + 20, opt.dataLength!);
      if (len === 24) put16(out, o + 22, opt.checksum!);
      break;
    case 'MP_JOIN': {
      const r = opt.reserved ?? 0;
      if (opt.form === 'ack') {
        out[o + 2] = (MptcpSubtype.MP_JOIN << 4) | ((r >>> 8) & 0x0f);
        out[o + 3] = r;
        out.set(opt.hmac!, o + 4);
        break;
      }
      out[o + 2] = (MptcpSubtype.MP_JOIN << 4) | ((r & 7) << 1) | (opt.backup ? 1 : 0);
      out[o + 3] = opt.addressId;
      if (opt.form === 'syn') {
        put32(out, o + 4, opt.token!);
        put32(out, o + 8, opt.nonce!);
      } else {
        out.set(opt.hmac!, o + 4);
        put32(out, o + 12, opt.nonce!);
      }
      break;
    }
    case 'ADD_ADDR': {
      out[o + 2] = (MptcpSubtype.ADD_ADDR << 4) | (((opt.reserved ?? 0) & 7) << 1) | (opt.echo ? 1 : 0);
      out[o + 3] = opt.addressId;
      const addr = ipFromText(opt.address);
      out.set(addr, o + 4);
      let i = o + 4 + addr.length;
      if (opt.port !== undefined) {
        put16(out, i, opt.port);
        i += 2;
      }
      if (opt.hmac) out.set(opt.hmac, i);
      break;
    }
    case 'REMOVE_ADDR':
      out[o + 2] = (MptcpSubtype.REMOVE_ADDR << 4) | ((opt.reserved ?? 0) & 0x0f);
      for (let k = 0; k < opt.addressIds.length; k++) out[o + 3 + k] = opt.addressIds[k]!;
      break;
    case 'MP_PRIO':
      out[o + 2] = (MptcpSubtype.MP_PRIO << 4) | (((opt.reserved ?? 0) & 7) << 1) | (opt.backup ? 1 : 0);
      if (opt.addressId !== undefined) out[o + 3] = opt.addressId;
      break;
    case 'MP_FAIL':
    case 'MP_FASTCLOSE': {
      const r = opt.reserved ?? 0;
      out[o + 2] = (MptcpSubtype[opt.subtype] << 4) | ((r >>> 8) & 0x0f);
      out[o + 3] = r;
      put64(out, o + 4, opt.subtype === 'MP_FAIL' ? opt.dsn : opt.receiverKey);
      break;
    }
    case 'MP_TCPRST':
      out[o + 2] =
        (MptcpSubtype.MP_TCPRST << 4) |
        (opt.u ? 8 : 0) |
        (opt.v ? 4 : 0) |
        (opt.w ? 2 : 0) |
        (opt.transient ? 1 : 0);
      out[o + 3] = opt.reason;
      break;
    case 'UNKNOWN':
      out.set(opt.data, o + 2);
      out[o + 2] = ((opt.code & 0x0f) << 4) | (opt.data[0]! & 0x0f);
      break;
  }
  return len;
}

function encodeDss(opt: Dss, out: Uint8Array, o: number): void {
  let flags = opt.dataFin ? DssFlag.F : 0;
  let meaning = DssFlag.F | DssFlag.A | DssFlag.M;
  let i = o + 4;
  if (opt.dataAck !== undefined) {
    flags |= DssFlag.A;
    meaning |= DssFlag.a;
    if (opt.dataAck64) {
      flags |= DssFlag.a;
      put64(out, i, opt.dataAck);
      i += 8;
    } else {
      put64Low32(out, i, opt.dataAck);
      i += 4;
    }
  }
  if (opt.dsn !== undefined) {
    flags |= DssFlag.M;
    meaning |= DssFlag.m;
    if (opt.dsn64) {
      flags |= DssFlag.m;
      put64(out, i, opt.dsn);
      i += 8;
    } else {
      put64Low32(out, i, opt.dsn);
      i += 4;
    }
    put32(out, i, opt.ssn!);
    put16(out, i + 4, opt.dataLength!);
    if (opt.checksum !== undefined) put16(out, i + 6, opt.checksum);
  }
  const r = opt.reserved ?? 0;
  out[o + 2] = (MptcpSubtype.DSS << 4) | ((r >>> 8) & 0x0f);
  out[o + 3] = flags | (r & 0xff & ~meaning);
}
