/**
 * What every interop test verifies besides its own assertions: the kernel's MPTCP counters show no error,
 * the kernel's PM events (`ip mptcp monitor`) and subflow view match ours, tshark decodes our capture with
 * no malformed packet and maps every data segment to a DSN, and `inspect` finds the same connection.
 */

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { analyse, type ConnectionSummary } from '../../../src/inspect/connections.ts';
import { decodeCaptureFile } from '../../../src/inspect/packets.ts';
import type { MptcpConnection } from '../../../src/mptcp/connection.ts';
import { DecodeError } from '../../../src/wire/errors.ts';
import { PAYLOAD_AS_DATA } from '../../support/tshark.ts';
import type { PeerDone } from './peer.ts';
import type { Ns, Testbed } from './testbed.ts';

/** Counters that must not move in a clean exchange (errors, unexpected fallback, refused joins, drops). */
export const ERROR_COUNTERS = [
  'MPTcpExtMPCapableFallbackACK',
  'MPTcpExtMPCapableFallbackSYNACK',
  'MPTcpExtMPCapableDataFallback',
  'MPTcpExtMPFallbackTokenInit',
  'MPTcpExtMPJoinNoTokenFound',
  'MPTcpExtMPJoinSynAckHMacFailure',
  'MPTcpExtMPJoinAckHMacFailure',
  'MPTcpExtMPJoinRejected',
  'MPTcpExtDSSNotMatching',
  'MPTcpExtDSSCorruptionFallback',
  'MPTcpExtDSSCorruptionReset',
  'MPTcpExtInfiniteMapTx',
  'MPTcpExtInfiniteMapRx',
  'MPTcpExtDSSNoMatchTCP',
  'MPTcpExtDataCsumErr',
  'MPTcpExtNoDSSInWindow',
  'MPTcpExtAddAddrDrop',
  'MPTcpExtAddAddrTxDrop',
  'MPTcpExtEchoAddTxDrop',
  'MPTcpExtRmAddrDrop',
  'MPTcpExtRmAddrTxDrop',
  'MPTcpExtMismatchPortSynRx',
  'MPTcpExtMismatchPortAckRx',
  'MPTcpExtMPFailTx',
  'MPTcpExtMPFailRx',
  'MPTcpExtDssFallback',
  'MPTcpExtFallbackFailed',
  'MPTcpExtSimultConnectFallback',
  'MPTcpExtMD5SigFallback',
  'MPTcpExtBlackhole',
  'MPTcpExtMPRstTx',
  'MPTcpExtMPRstRx',
  'MPTcpExtMPFastcloseTx',
  'MPTcpExtMPFastcloseRx',
] as const;

export type Counters = Record<string, number>;

export function delta(before: Counters, after: Counters): Counters {
  const d: Counters = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) d[k] = v - (before[k] ?? 0);
  return d;
}

/** Error counters that moved, except those the test expects (name → the test's reason). */
export function counterErrors(d: Counters, allowed: readonly string[] = []): string[] {
  return ERROR_COUNTERS.filter((k) => (d[k] ?? 0) !== 0 && !allowed.includes(k)).map((k) => `${k} +${d[k]}`);
}

/** Snapshot of both kernel hosts' counters. */
export function snapshot(tb: Testbed): Record<'mpt-cli' | 'mpt-srv', Counters> {
  return { 'mpt-cli': tb.counters('mpt-cli'), 'mpt-srv': tb.counters('mpt-srv') };
}

// ---------------------------------------------------------------- ip mptcp monitor

export interface PmEvent {
  type: string;
  fields: Record<string, string>;
}

/** `ip mptcp monitor` in a namespace, its events parsed as they come. */
export class PmMonitor {
  readonly events: PmEvent[] = [];
  private readonly child: ChildProcess;

  constructor(
    private readonly tb: Testbed,
    ns: Ns,
  ) {
    this.child = tb.spawn(ns, ['ip', 'mptcp', 'monitor']);
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = /^\[\s*(\w+)\]\s*(.*)$/.exec(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (!m) continue;
        const fields: Record<string, string> = {};
        for (const kv of m[2]!.split(/\s+/)) {
          const eq = kv.indexOf('=');
          if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        this.events.push({ type: m[1]!, fields });
      }
    });
  }

  /** Events of one type for one connection token (the kernel's own token, hex). */
  of(type: string, token?: number): PmEvent[] {
    const hex = token === undefined ? undefined : (token >>> 0).toString(16).padStart(8, '0');
    return this.events.filter(
      (e) => e.type === type && (hex === undefined || e.fields.token?.padStart(8, '0') === hex),
    );
  }

  stop(): Promise<void> {
    return this.tb.stop(this.child);
  }
}

// ---------------------------------------------------------------- views

/** Our subflows as "ours > kernel's" endpoint pairs, and the kernel peer's, turned around to match. */
export function subflowPairs(conn: MptcpConnection): string[] {
  return conn
    .listSubflows()
    .filter((s) => s.fullyEstablished || s.closedReason === 'closed' || s.bytesReceived + s.bytesSent > 0)
    .map((s) => `${s.local.address}:${s.local.port}>${s.remote.address}:${s.remote.port}`)
    .sort();
}

export function kernelSubflowPairs(done: PeerDone): string[] {
  return Object.keys(done.subflowStats ?? {})
    .map((k) => {
      const [local, remote] = k.split('>');
      return `${remote}>${local}`;
    })
    .sort();
}

// ---------------------------------------------------------------- tshark

export interface TsharkReport {
  packets: number;
  malformed: number[];
  /** Frames with an expert item of error severity. */
  errors: { frame: number; message: string }[];
  /**
   * Data segments of MPTCP subflows (SYN/ACK with an MPTCP option), and those no DSS mapping in the capture
   * covers (tshark's own verdict, unless a mapping it did not tie to the segment covers it: see tshark()).
   */
  dataSegments: number;
  unmapped: number[];
  infiniteMappings: number[];
  /** MP_TCPRST options seen: frame, sender and reason. */
  resets: { frame: number; src: string; reason: number }[];
}

const PI_ERROR = 0x00800000;

/** Decodes a capture with tshark's MPTCP mapping analysis; needs tshark on the PATH. */
export function tshark(path: string): TsharkReport {
  const fields = [
    'frame.number',
    'tcp.stream',
    'tcp.flags.syn',
    'tcp.flags.ack',
    'tcp.len',
    'tcp.options.mptcp.subtype',
    'mptcp.dsn',
    'mptcp.dss.missing_mapping',
    'mptcp.dss.infinite_mapping',
    '_ws.malformed',
    '_ws.expert.severity',
    '_ws.expert.message',
    'tcp.options.mptcp.rst_reason',
    'ip.src',
    'tcp.seq',
    'tcp.options.mptcp.subflowseqno',
    'tcp.options.mptcp.datalvllen',
  ];
  const r = spawnSync(
    'tshark',
    [
      '-r',
      path,
      ...PAYLOAD_AS_DATA,
      '-o',
      'mptcp.analyze_mappings:TRUE',
      '-o',
      'mptcp.analyze_mptcp:TRUE',
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=;',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`tshark failed on ${path}: ${r.stderr}`);
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('|'));
  const mptcpStreams = new Set<string>();
  for (const c of rows) if (c[2] === '1' && c[3] === '1' && c[5] !== '') mptcpStreams.add(c[1]!);
  const report: TsharkReport = {
    packets: rows.length,
    malformed: [],
    errors: [],
    dataSegments: 0,
    unmapped: [],
    infiniteMappings: [],
    resets: [],
  };
  // Every mapping in the capture, per subflow: [first subflow sequence number, length]. tshark leaves a
  // segment without a DSN when it did not see the segment that begins its mapping: in a capture taken at
  // the receiver, after a loss upstream, the retransmissions of a mapping's middle part carry the whole
  // mapping (Linux repeats it on every segment) yet are reported as "No mapping available".
  const mappings = new Map<string, [number, number][]>();
  for (const c of rows)
    if (c[15] && c[16]) {
      const list = mappings.get(c[1]!) ?? [];
      list.push([Number(c[15]), Number(c[16])]);
      mappings.set(c[1]!, list);
    }
  const covered = (stream: string, seq: number, len: number) =>
    (mappings.get(stream) ?? []).some(([ssn, n]) => ssn <= seq && seq + len <= ssn + n);
  for (const c of rows) {
    const frame = Number(c[0]);
    if (c[9] !== '') report.malformed.push(frame);
    const sev = (c[10] ?? '').split(';').map(Number);
    const msg = (c[11] ?? '').split(';');
    sev.forEach((s, i) => {
      if (s >= PI_ERROR) report.errors.push({ frame, message: msg[i] ?? '' });
    });
    if (Number(c[4]) > 0 && mptcpStreams.has(c[1]!)) {
      report.dataSegments++;
      const tsharkUnmapped = c[7] !== '' || c[6] === '';
      if (tsharkUnmapped && !covered(c[1]!, Number(c[14]), Number(c[4]))) report.unmapped.push(frame);
    }
    if (c[8] !== '') report.infiniteMappings.push(frame);
    if (c[12] !== '') report.resets.push({ frame, src: c[13]!, reason: Number(c[12]) });
  }
  return report;
}

/** MP_TCPRST reasons that report an error (RFC 8684 §3.6): not 0 (unspecified) nor 3 (administratively prohibited). */
export const ERROR_RST_REASONS = new Set([1, 2, 4, 5, 6]);

// ---------------------------------------------------------------- inspect

/** `inspect`'s view of the capture: the connection whose keys are ours. */
export function inspectConnection(pcap: Uint8Array, conn: MptcpConnection): ConnectionSummary | string {
  const decoded = decodeCaptureFile(pcap);
  if (decoded instanceof DecodeError) return `inspect cannot read the capture: ${decoded}`;
  const a = analyse(decoded.segments);
  const key = conn.localKey.toString(16).padStart(16, '0');
  // After a fallback our key may never have been sent: the initial subflow's endpoints identify it then.
  const init = conn.initial()?.tcp;
  const ends = init
    ? [`${init.local.address}:${init.local.port}`, `${init.remote.address}:${init.remote.port}`]
    : [];
  const found =
    a.connections.find((c) => c.keys.client === key || c.keys.server === key) ??
    a.connections.find((c) => ends.includes(c.client) && ends.includes(c.server));
  return found ?? `inspect found no connection with our key ${key} among ${a.connections.length}`;
}

/** Subflows (as "ours>theirs" endpoint pairs) that inspect saw for our connection. */
export function inspectSubflowPairs(c: ConnectionSummary, weAreClient: boolean): string[] {
  return c.subflows
    .map((s) => {
      const clientEnd = s.initiatorSide === 'client' ? s.initiator : s.responder;
      const serverEnd = s.initiatorSide === 'client' ? s.responder : s.initiator;
      return weAreClient ? `${clientEnd}>${serverEnd}` : `${serverEnd}>${clientEnd}`;
    })
    .sort();
}

export function savePcap(bytes: Uint8Array, path: string): string {
  writeFileSync(path, bytes);
  return path;
}
