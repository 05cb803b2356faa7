/**
 * A packet capture at the driver, for every transport: each segment the stack sends or receives, as a raw
 * IPv4/IPv6 packet (pcap link type RAW) with the addresses of its subflow. Over TUN that is the packet on the
 * wire. Over UDP it is the TCP segment the datagram carries, framed in the IP header it would have as plain
 * TCP and given the TCP checksum that TCP-in-UDP leaves out, so Wireshark, tshark and `mptcp-ts inspect`
 * decode it as the TCP/MPTCP it is.
 */
import { transportChecksum } from '../wire/checksum.ts';
import { IPPROTO_TCP } from '../wire/tcp.ts';
import { IpFramer } from './tun-frame.ts';

/** Where captured packets go: a PcapWriter (src/wire/pcap.ts, LinkType.RAW) fits. */
export interface PacketSink {
  add(timeUs: number, packet: Uint8Array): void;
}

/** Offset of the checksum in the TCP header. */
const TCP_CHECKSUM = 16;

export class SegmentCapture {
  /** Frames any address pair: the capture records the peer's segments too. */
  private readonly framer = new IpFramer([]);
  /** Packets that could not be framed (a bad address pair, or larger than IP allows). */
  unframed = 0;

  constructor(
    private readonly sink: PacketSink,
    /** The transport carries no TCP checksum (UDP): compute it for the capture. */
    private readonly fillChecksum: boolean,
  ) {}

  /** Records one segment at `timeUs` (wall-clock microseconds); `payload`: its data, carried apart. */
  record(timeUs: number, src: string, dst: string, segment: Uint8Array, tos = 0, payload?: Uint8Array): void {
    const tcpLength = segment.length + (payload?.length ?? 0);
    const len = segment.length < 20 ? -1 : this.framer.packetLength(src, dst, tcpLength);
    const p = len > 0 ? new Uint8Array(len) : null;
    if (p === null || this.framer.frame(src, dst, segment, tos, p, 0, payload) < 0) {
      this.unframed++;
      return;
    }
    if (this.fillChecksum) {
      const v4 = p[0]! >>> 4 === 4;
      const hl = len - tcpLength;
      const s = v4 ? p.subarray(12, 16) : p.subarray(8, 24);
      const d = v4 ? p.subarray(16, 20) : p.subarray(24, 40);
      p[hl + TCP_CHECKSUM] = 0;
      p[hl + TCP_CHECKSUM + 1] = 0;
      const sum = transportChecksum(s, d, IPPROTO_TCP, p, hl, len);
      p[hl + TCP_CHECKSUM] = sum >>> 8;
      p[hl + TCP_CHECKSUM + 1] = sum & 0xff;
    }
    this.sink.add(timeUs, p);
  }
}
