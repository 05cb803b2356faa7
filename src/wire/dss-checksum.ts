/**
 * The DSS checksum (RFC 8684 §3.3.1): the Internet checksum of a pseudo-header (64-bit DSN, 32-bit SSN
 * relative to the subflow ISN, 16-bit data-level length, 16-bit zero) followed by the mapping's payload.
 */
import { finishChecksum, sumBytes } from './checksum.ts';

/** One's-complement sum of the pseudo-header, not folded. `checksum` is the value in the checksum field. */
function pseudoHeaderSum(dsn: bigint, ssn: number, dataLength: number, checksum: number): number {
  const d = BigInt.asUintN(64, dsn);
  const hi = Number(d >> 32n);
  const lo = Number(d & 0xffffffffn);
  return (
    (hi >>> 16) +
    (hi & 0xffff) +
    (lo >>> 16) +
    (lo & 0xffff) +
    ((ssn >>> 16) & 0xffff) +
    (ssn & 0xffff) +
    (dataLength & 0xffff) +
    (checksum & 0xffff)
  );
}

/**
 * The checksum to send in a DSS mapping for `payload[start..end)`: the whole payload of the mapping, which
 * may exclude one byte from `dataLength` when the mapping carries a DATA_FIN.
 */
export function dssChecksum(
  dsn: bigint,
  ssn: number,
  dataLength: number,
  payload: Uint8Array,
  start = 0,
  end = payload.length,
): number {
  return finishChecksum(sumBytes(payload, start, end, pseudoHeaderSum(dsn, ssn, dataLength, 0)));
}

/** True when `checksum` is right for this mapping and payload. */
export function verifyDssChecksum(
  dsn: bigint,
  ssn: number,
  dataLength: number,
  checksum: number,
  payload: Uint8Array,
  start = 0,
  end = payload.length,
): boolean {
  return finishChecksum(sumBytes(payload, start, end, pseudoHeaderSum(dsn, ssn, dataLength, checksum))) === 0;
}
