import { DecodeError } from './errors.ts';
import type { MptcpOption } from './mptcp-types.ts';

// PLACEHOLDER: the codec is being written (issue 2); these signatures are the contract tcp.ts relies on.

/** Decodes the MPTCP option in `buf[start..start+len)` (from the kind byte on). */
export function decodeMptcpOption(_buf: Uint8Array, _start: number, _len: number): MptcpOption | DecodeError {
  return new DecodeError('mptcp.unimplemented', 'not yet');
}

/** Encoded length in bytes (kind and length bytes included). */
export function mptcpOptionLength(_opt: MptcpOption): number {
  return 0;
}

/** Writes the option at `out[offset]`; returns the number of bytes written. */
export function encodeMptcpOption(_opt: MptcpOption, _out: Uint8Array, _offset: number): number {
  return 0;
}
