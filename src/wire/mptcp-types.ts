/**
 * MPTCP option structures (RFC 8684 §3), one per subtype and form. Field names follow the RFC and the
 * `inspect --json` contract. 64-bit values are bigint; HMACs are raw bytes. Optional fields are absent
 * (not undefined) when the form has no such field; `reserved` is absent when all its bits are zero. The codec
 * lives in mptcp-options.ts.
 */

export const MPTCP_KIND = 30;

export const MptcpSubtype = {
  MP_CAPABLE: 0,
  MP_JOIN: 1,
  DSS: 2,
  ADD_ADDR: 3,
  REMOVE_ADDR: 4,
  MP_PRIO: 5,
  MP_FAIL: 6,
  MP_FASTCLOSE: 7,
  MP_TCPRST: 8,
} as const;

/** MP_CAPABLE flag bits (RFC 8684 §3.1). */
export const CapableFlag = { A: 0x80, B: 0x40, C: 0x20, H: 0x01 } as const;

/**
 * MP_CAPABLE. The form follows from the fields present: none (SYN, length 4), senderKey (SYN/ACK, 12),
 * both keys (ACK, 20), plus dataLength (ACK with data, 22), plus checksum (24).
 */
export interface MpCapable {
  subtype: 'MP_CAPABLE';
  version: number;
  flags: number;
  senderKey?: bigint;
  receiverKey?: bigint;
  dataLength?: number;
  checksum?: number;
}

/** MP_JOIN. SYN (12): token + nonce. SYN/ACK (16): 64-bit truncated hmac + nonce. ACK (24): 160-bit hmac. */
export interface MpJoin {
  subtype: 'MP_JOIN';
  form: 'syn' | 'synack' | 'ack';
  backup: boolean;
  addressId: number;
  token?: number;
  nonce?: number;
  hmac?: Uint8Array;
  /**
   * Reserved bits, kept for exact re-encoding: the 3 bits between subtype and B (SYN, SYN/ACK), or the
   * 12 bits after the subtype (ACK, whose backup and addressId are then false and 0).
   */
  reserved?: number;
}

/**
 * DSS (RFC 8684 §3.3). dataAck present with A; 8 bytes when dataAck64. The mapping (dsn, ssn, dataLength)
 * is present with M; dsn is 8 bytes when dsn64. checksum is present only when the mapping carries one.
 */
export interface Dss {
  subtype: 'DSS';
  dataFin: boolean;
  dataAck?: bigint;
  dataAck64?: boolean;
  dsn?: bigint;
  dsn64?: boolean;
  ssn?: number;
  dataLength?: number;
  checksum?: number;
  /**
   * The 12 bits after the subtype that carry no meaning here, in wire position (reserved bits, and the a or m
   * flag when A or M is clear), kept for exact re-encoding.
   */
  reserved?: number;
}

/** ADD_ADDR (RFC 8684 §3.4.1). The HMAC (rightmost 64 bits) is absent on echoes. */
export interface AddAddr {
  subtype: 'ADD_ADDR';
  echo: boolean;
  addressId: number;
  /** Dotted IPv4 or canonical (RFC 5952) IPv6 text. */
  address: string;
  port?: number;
  hmac?: Uint8Array;
  /** The 3 reserved bits before E, kept for exact re-encoding. */
  reserved?: number;
}

export interface RemoveAddr {
  subtype: 'REMOVE_ADDR';
  addressIds: number[];
  /** The 4 reserved bits after the subtype. */
  reserved?: number;
}

/** MP_PRIO: RFC 8684 has no address id (length 3); RFC 6824's length-4 form carries one. */
export interface MpPrio {
  subtype: 'MP_PRIO';
  backup: boolean;
  addressId?: number;
  /** The 3 reserved bits before B. */
  reserved?: number;
}

export interface MpFail {
  subtype: 'MP_FAIL';
  dsn: bigint;
  /** The 12 reserved bits after the subtype. */
  reserved?: number;
}

export interface MpFastclose {
  subtype: 'MP_FASTCLOSE';
  receiverKey: bigint;
  /** The 12 reserved bits after the subtype. */
  reserved?: number;
}

/** MP_TCPRST reason codes (RFC 8684 §3.6). */
export const TcpRstReason = {
  UNSPECIFIED: 0,
  MPTCP_SPECIFIC: 1,
  LACK_OF_RESOURCES: 2,
  ADMINISTRATIVELY_PROHIBITED: 3,
  TOO_MUCH_OUTSTANDING_DATA: 4,
  UNACCEPTABLE_PERFORMANCE: 5,
  MIDDLEBOX_INTERFERENCE: 6,
} as const;

/** MP_TCPRST. `transient` is the T flag; u, v, w are the other flag bits (unassigned). */
export interface MpTcpRst {
  subtype: 'MP_TCPRST';
  transient: boolean;
  u: boolean;
  v: boolean;
  w: boolean;
  reason: number;
}

/** A subtype this codec does not know (e.g. MP_EXPERIMENTAL 0xf), kept as bytes; encoding takes the subtype from `code`. */
export interface MpUnknown {
  subtype: 'UNKNOWN';
  code: number;
  /** The option bytes from the subtype byte on (kind and length excluded). */
  data: Uint8Array;
}

export type MptcpOption =
  | MpCapable
  | MpJoin
  | Dss
  | AddAddr
  | RemoveAddr
  | MpPrio
  | MpFail
  | MpFastclose
  | MpTcpRst
  | MpUnknown;
