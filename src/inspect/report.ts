/** The two faces of `inspect`: the JSON document of the issue's contract and a human-readable report. */
import type { Analysis, CapturedSegment, ConnectionSummary } from './connections.ts';
import { optionToJson } from './option-json.ts';
import type { DecodedCapture } from './packets.ts';

const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** TCP flags as names joined by '|', e.g. "SYN|ACK". */
export function flagString(flags: number): string {
  return FLAG_NAMES.filter((_, i) => flags & (1 << i)).join('|');
}

export function packetToJson(p: CapturedSegment) {
  return {
    frame: p.frame,
    src: p.src,
    dst: p.dst,
    sport: p.sport,
    dport: p.dport,
    seq: p.seq,
    ack: p.ack,
    flags: flagString(p.flags),
    payloadLength: p.payload.length,
    mptcp: p.mptcp.map(optionToJson),
    ...(p.malformed.length ? { malformedMptcp: p.malformed } : {}),
  };
}

export function toJson(cap: DecodedCapture, analysis: Analysis) {
  return {
    packets: cap.segments.map(packetToJson),
    connections: analysis.connections,
    plainTcpFlows: analysis.plainTcpFlows,
    orphanJoins: analysis.orphanJoins,
    undecodable: cap.undecodable,
  };
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);

function shortOption(o: ReturnType<typeof optionToJson>): string {
  const parts = Object.entries(o)
    .filter(([k]) => k !== 'subtype')
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`);
  return parts.length ? `${o.subtype}(${parts.join(' ')})` : o.subtype;
}

function connectionText(c: ConnectionSummary): string[] {
  const lines = [
    `Connection ${c.index}: ${c.client} -> ${c.server}${c.fallback ? '  [fell back to TCP]' : ''}${c.checksums ? '  [DSS checksums]' : ''}`,
    `  keys    client ${c.keys.client ?? '?'}  server ${c.keys.server ?? '?'}`,
    `  tokens  client ${c.tokens.client ?? '?'}  server ${c.tokens.server ?? '?'}`,
    `  subflows (${c.subflows.length}):`,
  ];
  for (const s of c.subflows) {
    const ids = `id ${s.addressId.initiator}/${s.addressId.responder ?? '?'}`;
    const backup =
      s.backup.client || s.backup.server
        ? ` backup(${s.backup.client ? 'c' : ''}${s.backup.server ? 's' : ''})`
        : '';
    lines.push(
      `    #${s.index} ${pad(s.kind, 10)} ${s.initiator} -> ${s.responder}  ${ids}${backup}  ` +
        `bytes c->s ${s.bytes.fromClient} s->c ${s.bytes.fromServer}  frames ${s.firstFrame}-${s.lastFrame}  ${s.ended}`,
    );
    const h = [s.hmacValid.synAck, s.hmacValid.ack];
    if (h.some((v) => v !== null))
      lines.push(
        `       MP_JOIN HMACs (SYN/ACK, ACK): ${h.map((v) => (v === null ? 'absent' : v ? 'valid' : 'INVALID')).join(', ')}`,
      );
    for (const p of s.priorityChanges)
      lines.push(`       frame ${p.frame}: MP_PRIO backup=${p.backup} from the ${p.by}`);
  }
  for (const a of c.announced)
    lines.push(
      `  frame ${a.frame}: ${a.echo ? 'ADD_ADDR echo' : 'ADD_ADDR'} id ${a.addressId} ${a.address}${a.port ? `:${a.port}` : ''} from the ${a.by}` +
        (a.hmacValid === null ? '' : a.hmacValid ? ' (HMAC valid)' : ' (HMAC INVALID)'),
    );
  for (const r of c.removed)
    lines.push(`  frame ${r.frame}: REMOVE_ADDR ids ${r.addressIds.join(',')} from the ${r.by}`);
  for (const [dir, s] of [
    ['client -> server', c.streams.clientToServer],
    ['server -> client', c.streams.serverToClient],
  ] as const) {
    const gaps = s.gaps.length ? `  gaps ${s.gaps.map(([a, b]) => `${a}-${b}`).join(' ')}` : '';
    lines.push(`  data ${dir}: ${s.bytes} bytes${gaps}  sha256 ${s.sha256.slice(0, 16)}…`);
  }
  lines.push(`  ended: ${c.ended}`);
  return lines;
}

export function toText(cap: DecodedCapture, analysis: Analysis, opts: { packets: boolean }): string {
  const out = [
    `${cap.format} capture, ${cap.frames} frames, ${cap.segments.length} TCP segments, ` +
      `${analysis.connections.length} MPTCP connection(s), ${analysis.plainTcpFlows} plain TCP flow(s)`,
    '',
  ];
  for (const c of analysis.connections) out.push(...connectionText(c), '');
  if (cap.undecodable.length) {
    out.push('Undecodable frames:');
    for (const u of cap.undecodable) out.push(`  frame ${u.frame}: ${u.reason}`);
    out.push('');
  }
  if (opts.packets) {
    out.push('Packets:');
    const t0 = cap.segments[0]?.timeUs ?? 0;
    for (const p of cap.segments) {
      const t = ((p.timeUs - t0) / 1e6).toFixed(6);
      const opts = p.mptcp.map((o) => shortOption(optionToJson(o))).join(' ');
      out.push(
        `${pad(p.frame, 5)} ${pad(t, 10)} ${p.src}:${p.sport} > ${p.dst}:${p.dport} ${pad(`[${flagString(p.flags)}]`, 11)} ` +
          `seq ${p.seq} ack ${p.ack} len ${p.payload.length}${opts ? ` ${opts}` : ''}${p.malformed.length ? ` MALFORMED(${p.malformed.join('; ')})` : ''}`,
      );
    }
  }
  return out.join('\n');
}
