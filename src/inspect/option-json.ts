/**
 * The `inspect --json` form of an MPTCP option: `subtype` is the RFC name, field names follow the issue's
 * contract, keys/tokens/nonces/HMACs are lowercase hex, 64-bit numbers are decimal strings, absent fields are
 * omitted.
 */
import type { MptcpOption } from '../wire/mptcp-types.ts';

export type JsonOption = { subtype: string } & Record<string, string | number | boolean | number[]>;

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const hex64 = (v: bigint): string => v.toString(16).padStart(16, '0');
const hex32 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

/** Copies the defined entries of `fields` onto `out` (absent fields are omitted, never null). */
function put(
  out: JsonOption,
  fields: Record<string, string | number | boolean | number[] | undefined>,
): JsonOption {
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

export function optionToJson(o: MptcpOption): JsonOption {
  const out: JsonOption = { subtype: o.subtype };
  switch (o.subtype) {
    case 'MP_CAPABLE':
      return put(out, {
        version: o.version,
        flags: o.flags,
        senderKey: o.senderKey === undefined ? undefined : hex64(o.senderKey),
        receiverKey: o.receiverKey === undefined ? undefined : hex64(o.receiverKey),
        dataLength: o.dataLength,
        checksum: o.checksum,
      });
    case 'MP_JOIN':
      return put(out, {
        token: o.token === undefined ? undefined : hex32(o.token),
        nonce: o.nonce === undefined ? undefined : hex32(o.nonce),
        addressId: o.addressId,
        backup: o.backup,
        hmac: o.hmac === undefined ? undefined : hex(o.hmac),
      });
    case 'DSS':
      return put(out, {
        dataAck: o.dataAck?.toString(),
        dsn: o.dsn?.toString(),
        ssn: o.ssn,
        dataLength: o.dataLength,
        dataFin: o.dataFin,
        checksum: o.checksum,
      });
    case 'ADD_ADDR':
      return put(out, {
        echo: o.echo,
        addressId: o.addressId,
        address: o.address,
        port: o.port,
        hmac: o.hmac === undefined ? undefined : hex(o.hmac),
      });
    case 'REMOVE_ADDR':
      return put(out, { addressIds: [...o.addressIds] });
    case 'MP_PRIO':
      return put(out, { backup: o.backup, addressId: o.addressId });
    case 'MP_FAIL':
      return put(out, { dsn: o.dsn.toString() });
    case 'MP_FASTCLOSE':
      return put(out, { receiverKey: hex64(o.receiverKey) });
    case 'MP_TCPRST':
      return put(out, { reason: o.reason, transient: o.transient });
    case 'UNKNOWN':
      return put(out, { code: o.code, data: hex(o.data) });
  }
}
