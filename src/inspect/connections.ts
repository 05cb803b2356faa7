/**
 * Groups decoded TCP segments into MPTCP connections: the initial subflow by its MP_CAPABLE keys, joins by
 * the token in their MP_JOIN SYN, and reassembles each direction's data by data sequence number (DSS
 * mappings, and the implicit mapping of an MP_CAPABLE with data, RFC 8684 §3.1) or by TCP sequence number
 * after a fallback.
 */
import { addAddrHmac, hmacEqual, joinAckHmac, joinSynAckHmac, keyMaterial } from '../crypto.ts';
import { parseIp } from '../wire/address.ts';
import { DecodeError } from '../wire/errors.ts';
import type { AddAddr, MpJoin, MptcpOption } from '../wire/mptcp-types.ts';
import { CapableFlag } from '../wire/mptcp-types.ts';
import { TcpFlag } from '../wire/tcp.ts';
import { type Chunk, reassemble, type StreamSummary } from './reassembly.ts';

/** One TCP segment as read from a capture. */
export interface CapturedSegment {
  frame: number;
  timeUs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
  mptcp: MptcpOption[];
  /** MPTCP options that did not decode, with the reason. */
  malformed: string[];
}

export type Side = 'client' | 'server';

export interface SubflowSummary {
  index: number;
  kind: 'MP_CAPABLE' | 'MP_JOIN';
  initiator: string;
  responder: string;
  /** Which end of the MPTCP connection opened this subflow. */
  initiatorSide: Side;
  /** Address ids: the initiator's (0 for the initial subflow) and the responder's. */
  addressId: { initiator: number; responder: number | null };
  /** Backup as requested by each end (MP_JOIN B bit, then MP_PRIO sent on this subflow). */
  backup: { client: boolean; server: boolean };
  priorityChanges: { frame: number; by: Side; backup: boolean }[];
  /** MP_JOIN HMACs recomputed from the connection's keys and the nonces (null when something is missing). */
  hmacValid: { synAck: boolean | null; ack: boolean | null };
  bytes: { fromClient: number; fromServer: number };
  packets: number;
  firstFrame: number;
  lastFrame: number;
  ended: string;
}

export interface ConnectionSummary {
  index: number;
  client: string;
  server: string;
  fallback: boolean;
  checksums: boolean;
  keys: { client: string | null; server: string | null };
  tokens: { client: string | null; server: string | null };
  idsns: { client: string | null; server: string | null };
  subflows: SubflowSummary[];
  announced: {
    frame: number;
    by: Side;
    addressId: number;
    address: string;
    port: number | null;
    echo: boolean;
    /** The ADD_ADDR HMAC recomputed from the keys (null for echoes or unknown keys). */
    hmacValid: boolean | null;
  }[];
  removed: { frame: number; by: Side; addressIds: number[] }[];
  dataFin: { client: number | null; server: number | null };
  ended: string;
  streams: { clientToServer: StreamSummary; serverToClient: StreamSummary };
}

export interface Analysis {
  connections: ConnectionSummary[];
  /** TCP flows that never carried an MPTCP option. */
  plainTcpFlows: number;
  /** Joins whose token matched no connection in the capture. */
  orphanJoins: number;
}

interface Flow {
  key: string;
  packets: CapturedSegment[];
  initiator: string;
  responder: string;
  isn: Map<string, number>;
  capable: boolean;
  join: boolean;
  synAckHasMptcp: boolean | null;
}

const ep = (addr: string, port: number): string =>
  addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
const hex64 = (v: bigint): string => v.toString(16).padStart(16, '0');
const hex32 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
const TWO_64 = 1n << 64n;

function flowsOf(segments: CapturedSegment[]): Flow[] {
  const flows = new Map<string, Flow>();
  const order: Flow[] = [];
  for (const s of segments) {
    const a = ep(s.src, s.sport);
    const b = ep(s.dst, s.dport);
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    let f = flows.get(key);
    if (!f) {
      const isSynAck = (s.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
      f = {
        key,
        packets: [],
        initiator: isSynAck ? b : a,
        responder: isSynAck ? a : b,
        isn: new Map(),
        capable: false,
        join: false,
        synAckHasMptcp: null,
      };
      flows.set(key, f);
      order.push(f);
    }
    f.packets.push(s);
    if (s.flags & TcpFlag.SYN) {
      f.isn.set(a, s.seq);
      const isAck = (s.flags & TcpFlag.ACK) !== 0;
      if (!isAck) {
        f.initiator = a;
        f.responder = b;
      }
      for (const o of s.mptcp) {
        if (o.subtype === 'MP_CAPABLE') f.capable = true;
        if (o.subtype === 'MP_JOIN') f.join = true;
      }
      if (isAck)
        f.synAckHasMptcp = s.mptcp.some((o) => o.subtype === 'MP_CAPABLE' || o.subtype === 'MP_JOIN');
    }
  }
  return order;
}

/** A 64-bit value from a possibly 32-bit field: the candidate nearest `reference` (RFC 8684 §3.3.1). */
function widen(value: bigint, is64: boolean | undefined, reference: bigint): bigint {
  if (is64) return value;
  const base = reference & ~0xffffffffn;
  let best = base | value;
  for (const c of [best - 0x100000000n, best + 0x100000000n]) {
    const cc = ((c % TWO_64) + TWO_64) % TWO_64;
    const d = (x: bigint) => (x > reference ? x - reference : reference - x);
    if (d(cc) < d(best)) best = cc;
  }
  return best;
}

interface Mapping {
  dsn: bigint;
  ssn: number;
  length: number;
}

export function analyse(segments: CapturedSegment[]): Analysis {
  const flows = flowsOf(segments);
  const connections: ConnectionSummary[] = [];
  const byToken = new Map<number, { conn: ConnectionSummary; side: Side }>();
  const state = new Map<ConnectionSummary, ConnState>();
  let plainTcpFlows = 0;
  let orphanJoins = 0;

  for (const f of flows) {
    if (!f.capable) continue;
    const conn = newConnection(connections.length, f);
    connections.push(conn);
    const st: ConnState = { clientKey: null, serverKey: null, chunks: { client: [], server: [] } };
    state.set(conn, st);
    for (const s of f.packets) {
      for (const o of s.mptcp) {
        if (o.subtype !== 'MP_CAPABLE') continue;
        if (o.flags & CapableFlag.A) conn.checksums = true;
        const fromClient = ep(s.src, s.sport) === conn.client;
        if (o.senderKey !== undefined) {
          if (fromClient) st.clientKey ??= o.senderKey;
          else st.serverKey ??= o.senderKey;
        }
        if (o.receiverKey !== undefined) {
          if (fromClient) st.serverKey ??= o.receiverKey;
          else st.clientKey ??= o.receiverKey;
        }
      }
    }
    conn.fallback = f.synAckHasMptcp === false || (st.clientKey === null && st.serverKey === null);
    for (const side of ['client', 'server'] as const) {
      const key = side === 'client' ? st.clientKey : st.serverKey;
      if (key === null) continue;
      const km = keyMaterial(key);
      conn.keys[side] = hex64(key);
      conn.tokens[side] = hex32(km.token);
      conn.idsns[side] = km.idsn.toString();
      byToken.set(km.token, { conn, side });
    }
    conn.subflows.push(subflowOf(conn, f, 'MP_CAPABLE', 'client'));
  }

  const flowsOfConn = new Map<ConnectionSummary, Flow[]>();
  for (const c of connections) flowsOfConn.set(c, [flows.find((f) => f.key === flowKeyOf(c))!]);
  for (const f of flows) {
    if (f.capable) continue;
    if (!f.join) {
      plainTcpFlows++;
      continue;
    }
    const syn = f.packets.find((p) => p.flags & TcpFlag.SYN && !(p.flags & TcpFlag.ACK));
    const join = syn?.mptcp.find((o) => o.subtype === 'MP_JOIN');
    const owner = join?.token !== undefined ? byToken.get(join.token) : undefined;
    if (!owner) {
      orphanJoins++;
      continue;
    }
    // The token names the responder's key, so the initiator is the other end.
    const initiatorSide: Side = owner.side === 'server' ? 'client' : 'server';
    owner.conn.subflows.push(subflowOf(owner.conn, f, 'MP_JOIN', initiatorSide));
    flowsOfConn.get(owner.conn)!.push(f);
  }

  for (const conn of connections) {
    const st = state.get(conn)!;
    const fl = flowsOfConn.get(conn)!;
    for (const [i, f] of fl.entries()) collect(conn, st, f, conn.subflows[i]!);
    conn.streams.clientToServer = reassemble(st.chunks.client);
    conn.streams.serverToClient = reassemble(st.chunks.server);
    conn.ended = endingOf(conn, fl);
  }
  return { connections, plainTcpFlows, orphanJoins };
}

interface ConnState {
  clientKey: bigint | null;
  serverKey: bigint | null;
  chunks: { client: Chunk[]; server: Chunk[] };
}

const flowKeyOf = (c: ConnectionSummary): string => {
  const [a, b] = [c.client, c.server];
  return a < b ? `${a} ${b}` : `${b} ${a}`;
};

function newConnection(index: number, f: Flow): ConnectionSummary {
  const empty = reassemble([]);
  return {
    index,
    client: f.initiator,
    server: f.responder,
    fallback: false,
    checksums: false,
    keys: { client: null, server: null },
    tokens: { client: null, server: null },
    idsns: { client: null, server: null },
    subflows: [],
    announced: [],
    removed: [],
    dataFin: { client: null, server: null },
    ended: '',
    streams: { clientToServer: empty, serverToClient: empty },
  };
}

function subflowOf(
  conn: ConnectionSummary,
  f: Flow,
  kind: SubflowSummary['kind'],
  initiatorSide: Side,
): SubflowSummary {
  const sub: SubflowSummary = {
    index: conn.subflows.length,
    kind,
    initiator: f.initiator,
    responder: f.responder,
    initiatorSide,
    addressId: { initiator: 0, responder: kind === 'MP_CAPABLE' ? 0 : null },
    backup: { client: false, server: false },
    priorityChanges: [],
    hmacValid: { synAck: null, ack: null },
    bytes: { fromClient: 0, fromServer: 0 },
    packets: f.packets.length,
    firstFrame: f.packets[0]!.frame,
    lastFrame: f.packets[f.packets.length - 1]!.frame,
    ended: 'open',
  };
  const responderSide: Side = initiatorSide === 'client' ? 'server' : 'client';
  const joins: Partial<Record<MpJoin['form'], MpJoin>> = {};
  for (const p of f.packets) {
    for (const o of p.mptcp) {
      if (o.subtype !== 'MP_JOIN') continue;
      joins[o.form] ??= o;
      if (o.form === 'syn') {
        sub.addressId.initiator = o.addressId;
        sub.backup[initiatorSide] = o.backup;
      } else if (o.form === 'synack') {
        sub.addressId.responder = o.addressId;
        sub.backup[responderSide] = o.backup;
      }
    }
  }
  const keyA = conn.keys[initiatorSide];
  const keyB = conn.keys[responderSide];
  const nonceA = joins.syn?.nonce;
  const nonceB = joins.synack?.nonce;
  if (keyA !== null && keyB !== null && nonceA !== undefined && nonceB !== undefined) {
    const [a, b] = [BigInt(`0x${keyA}`), BigInt(`0x${keyB}`)];
    if (joins.synack?.hmac)
      sub.hmacValid.synAck = hmacEqual(joins.synack.hmac, joinSynAckHmac(b, a, nonceB, nonceA));
    if (joins.ack?.hmac) sub.hmacValid.ack = hmacEqual(joins.ack.hmac, joinAckHmac(a, b, nonceA, nonceB));
  }
  return sub;
}

/** Recomputes an ADD_ADDR HMAC: sender key ‖ receiver key over id ‖ address ‖ port (RFC 8684 §3.4.1). */
function addAddrValid(conn: ConnectionSummary, by: Side, o: AddAddr): boolean | null {
  const sender = conn.keys[by];
  const receiver = conn.keys[by === 'client' ? 'server' : 'client'];
  const addr = parseIp(o.address);
  if (o.echo || !o.hmac || sender === null || receiver === null || addr instanceof DecodeError) return null;
  const expected = addAddrHmac(BigInt(`0x${sender}`), BigInt(`0x${receiver}`), o.addressId, addr, o.port);
  return hmacEqual(o.hmac, expected);
}

/** Walks one subflow's packets: data chunks by DSN, mappings, addresses, priorities, DATA_FIN, ending. */
function collect(conn: ConnectionSummary, st: ConnState, f: Flow, sub: SubflowSummary): void {
  const sideOf = (p: CapturedSegment): Side => {
    const fromInitiator = ep(p.src, p.sport) === f.initiator;
    const other: Side = sub.initiatorSide === 'client' ? 'server' : 'client';
    return fromInitiator ? sub.initiatorSide : other;
  };
  const idsnOf = (side: Side): bigint | null => {
    const v = conn.idsns[side];
    return v === null ? null : BigInt(v);
  };
  const mappings: Record<Side, Mapping[]> = { client: [], server: [] };
  const lastDsn: Record<Side, bigint | null> = { client: idsnOf('client'), server: idsnOf('server') };
  let fins = 0;
  let reset = false;
  for (const p of f.packets) {
    const side = sideOf(p);
    const sender = ep(p.src, p.sport);
    const isn = f.isn.get(sender);
    const relSeq = isn === undefined ? null : (p.seq - isn) >>> 0;
    if (side === 'client') sub.bytes.fromClient += p.payload.length;
    else sub.bytes.fromServer += p.payload.length;
    if (p.flags & TcpFlag.FIN) fins++;
    if (p.flags & TcpFlag.RST) reset = true;
    const idsn = idsnOf(side);
    for (const o of p.mptcp) {
      switch (o.subtype) {
        case 'MP_CAPABLE':
          if (o.dataLength !== undefined && idsn !== null && p.payload.length > 0)
            mappings[side].push({ dsn: (idsn + 1n) % TWO_64, ssn: 1, length: o.dataLength });
          break;
        case 'DSS':
          if (o.dsn !== undefined && o.ssn !== undefined && o.dataLength !== undefined) {
            const ref = lastDsn[side] ?? o.dsn;
            const dsn = widen(o.dsn, o.dsn64, ref);
            lastDsn[side] = dsn;
            const known = mappings[side].some(
              (m) => m.dsn === dsn && m.ssn === o.ssn && m.length === o.dataLength,
            );
            if (!known) mappings[side].push({ dsn, ssn: o.ssn, length: o.dataLength });
            if (o.dataFin && idsn !== null) {
              // The DATA_FIN occupies the last data-level byte of its mapping (RFC 8684 §3.3.3).
              const finOffset = Number((dsn + BigInt(o.dataLength) - 1n - (idsn + 1n) + TWO_64) % TWO_64);
              if (conn.dataFin[side] === null) conn.dataFin[side] = finOffset;
            }
          } else if (o.dataFin && conn.dataFin[side] === null) conn.dataFin[side] = -1;
          break;
        case 'ADD_ADDR':
          conn.announced.push({
            frame: p.frame,
            by: side,
            addressId: o.addressId,
            address: o.address,
            port: o.port ?? null,
            echo: o.echo,
            hmacValid: addAddrValid(conn, side, o),
          });
          break;
        case 'REMOVE_ADDR':
          conn.removed.push({ frame: p.frame, by: side, addressIds: [...o.addressIds] });
          break;
        case 'MP_PRIO':
          sub.backup[side] = o.backup;
          sub.priorityChanges.push({ frame: p.frame, by: side, backup: o.backup });
          break;
        case 'MP_FASTCLOSE':
          conn.ended = `MP_FASTCLOSE from the ${side} (frame ${p.frame})`;
          break;
        default:
          break;
      }
    }
    if (p.payload.length === 0 || relSeq === null) continue;
    const chunks = st.chunks[side];
    if (conn.fallback) {
      chunks.push({ offset: relSeq - 1, data: p.payload });
      continue;
    }
    if (idsn === null) continue;
    placeByMapping(mappings[side], relSeq, p.payload, idsn, chunks);
  }
  sub.ended = reset ? 'reset' : fins >= 2 ? 'closed (FIN both ways)' : fins === 1 ? 'half-closed' : 'open';
}

/** Places a payload at its data-level offsets using the mappings that cover its subflow sequence numbers. */
function placeByMapping(
  maps: Mapping[],
  relSeq: number,
  payload: Uint8Array,
  idsn: bigint,
  out: Chunk[],
): void {
  let pos = 0;
  while (pos < payload.length) {
    const ssn = relSeq + pos;
    let m: Mapping | undefined;
    for (let i = maps.length - 1; i >= 0; i--) {
      const c = maps[i]!;
      if (ssn >= c.ssn && ssn < c.ssn + c.length) {
        m = c;
        break;
      }
    }
    if (!m) return; // bytes without a mapping cannot be placed (counted as a gap)
    const n = Math.min(payload.length - pos, m.ssn + m.length - ssn);
    const dsn = m.dsn + BigInt(ssn - m.ssn);
    out.push({ offset: Number((dsn - (idsn + 1n) + TWO_64) % TWO_64), data: payload.subarray(pos, pos + n) });
    pos += n;
  }
}

function endingOf(conn: ConnectionSummary, fl: Flow[]): string {
  if (conn.ended) return conn.ended;
  const { client, server } = conn.dataFin;
  if (conn.fallback) {
    const fins = fl[0]!.packets.filter((p) => p.flags & TcpFlag.FIN).length;
    return fins >= 2
      ? 'fallback to TCP, closed with FIN both ways'
      : 'fallback to TCP, open at end of capture';
  }
  if (client !== null && server !== null) return 'DATA_FIN both ways';
  if (client !== null) return 'DATA_FIN from the client only';
  if (server !== null) return 'DATA_FIN from the server only';
  if (fl.some((f) => f.packets.some((p) => p.flags & TcpFlag.RST))) return 'reset';
  return 'open at end of capture';
}
