/** Reads a capture into TCP segments with their MPTCP options decoded (non-TCP frames are skipped). */
import { formatIp } from '../wire/address.ts';
import { DecodeError } from '../wire/errors.ts';
import { decodeIp } from '../wire/ip.ts';
import { ipPayloadOfFrame } from '../wire/link.ts';
import { readCapture } from '../wire/pcap.ts';
import { decodeTcp, IPPROTO_TCP } from '../wire/tcp.ts';
import type { CapturedSegment } from './connections.ts';

export interface DecodedCapture {
  format: 'pcap' | 'pcapng';
  frames: number;
  segments: CapturedSegment[];
  /** Frames that carried IP/TCP but did not decode, with the reason (the rest of the file is still read). */
  undecodable: { frame: number; reason: string }[];
}

export function decodeCaptureFile(bytes: Uint8Array): DecodedCapture | DecodeError {
  const cap = readCapture(bytes);
  if (cap instanceof DecodeError) return cap;
  const segments: CapturedSegment[] = [];
  const undecodable: DecodedCapture['undecodable'] = [];
  for (const r of cap.records) {
    const frame = ipPayloadOfFrame(r.linkType, r.data);
    if (!frame) continue;
    const ip = decodeIp(frame.ip);
    if (ip instanceof DecodeError) {
      undecodable.push({ frame: r.frame, reason: ip.toString() });
      continue;
    }
    if (ip.protocol !== IPPROTO_TCP || ('fragment' in ip && ip.fragment)) continue;
    const tcp = decodeTcp(ip.payload);
    if (tcp instanceof DecodeError) {
      undecodable.push({ frame: r.frame, reason: tcp.toString() });
      continue;
    }
    const mptcp = [];
    const malformed = [];
    for (const o of tcp.options) {
      if (o.kind === 'mptcp') mptcp.push(o.mptcp);
      else if (o.kind === 'mptcpMalformed') malformed.push(o.error.toString());
    }
    segments.push({
      frame: r.frame,
      timeUs: r.timeUs,
      src: formatIp(ip.src),
      dst: formatIp(ip.dst),
      sport: tcp.srcPort,
      dport: tcp.dstPort,
      seq: tcp.seq,
      ack: tcp.ack,
      flags: tcp.flags,
      payload: tcp.payload,
      mptcp,
      malformed,
    });
  }
  return { format: cap.format, frames: cap.records.length, segments, undecodable };
}
