/**
 * Link-layer framing of captured packets: finding the IP packet inside a frame of a given pcap link type
 * (https://www.tcpdump.org/linktypes.html), and wrapping an IP packet in a frame for capture writers.
 */

/** pcap LINKTYPE_* values this project reads (LOOP too) and writes. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Some systems wrote raw IP captures with their DLT_RAW value (12 or 14) as the link type. */
const LINKTYPE_RAW_ALT1 = 12;
const LINKTYPE_RAW_ALT2 = 14;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;

const ETHERNET_HEADER = 14;
const VLAN_TAG = 4;
const SLL_HEADER = 16;
const SLL2_HEADER = 20;
const NULL_HEADER = 4;

/** BSD address families in DLT_NULL/DLT_LOOP headers; AF_INET6 differs between systems. */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

/** Linux ARPHRD_NONE: the SLL address is empty, as for a TUN device. */
const ARPHRD_NONE = 0xfffe;

export interface IpInFrame {
  ipVersion: 4 | 6;
  /** A view of the IP packet, trimmed to its declared length when the frame carries padding after it. */
  ip: Uint8Array;
}

const u16be = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;

/** The IP packet inside a captured frame, or null when the frame does not carry IPv4 or IPv6. */
export function ipPayloadOfFrame(linkType: number, data: Uint8Array): IpInFrame | null {
  switch (linkType) {
    case LinkType.ETHERNET:
      return ethernet(data);
    case LinkType.RAW:
    case LINKTYPE_RAW_ALT1:
    case LINKTYPE_RAW_ALT2:
      return ipAt(data, 0, 0);
    case LinkType.IPV4:
      return ipAt(data, 0, 4);
    case LinkType.IPV6:
      return ipAt(data, 0, 6);
    case LinkType.LINUX_SLL:
      return data.length < SLL_HEADER ? null : byEthertype(data, SLL_HEADER, u16be(data, 14));
    case LinkType.LINUX_SLL2:
      return data.length < SLL2_HEADER ? null : byEthertype(data, SLL2_HEADER, u16be(data, 0));
    case LinkType.NULL:
    case LinkType.LOOP:
      return nullFrame(data);
    default:
      return null;
  }
}

function ethernet(data: Uint8Array): IpInFrame | null {
  let at = ETHERNET_HEADER - 2;
  if (data.length < ETHERNET_HEADER) return null;
  let type = u16be(data, at);
  // 802.1Q and 802.1ad tags, possibly stacked: each is a 2-byte TCI then the next EtherType.
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
    at += VLAN_TAG;
    if (data.length < at + 2) return null;
    type = u16be(data, at);
  }
  return byEthertype(data, at + 2, type);
}

function byEthertype(data: Uint8Array, at: number, type: number): IpInFrame | null {
  if (type === ETHERTYPE_IPV4) return ipAt(data, at, 4);
  if (type === ETHERTYPE_IPV6) return ipAt(data, at, 6);
  return null;
}

function nullFrame(data: Uint8Array): IpInFrame | null {
  if (data.length < NULL_HEADER) return null;
  // The family is in the capturing host's byte order (DLT_NULL) or network order (DLT_LOOP): try both.
  const le = data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
  const be = (data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!;
  const family = le >>> 16 === 0 ? le : be;
  if (family === AF_INET) return ipAt(data, NULL_HEADER, 4);
  if (AF_INET6.has(family)) return ipAt(data, NULL_HEADER, 6);
  return null;
}

/** The IP packet at `at`; `expect` 0 takes the version from the first nibble. */
function ipAt(data: Uint8Array, at: number, expect: 0 | 4 | 6): IpInFrame | null {
  if (data.length <= at) return null;
  const nibble = data[at]! >> 4;
  if (nibble !== 4 && nibble !== 6) return null;
  const version: 4 | 6 = nibble;
  if (expect !== 0 && version !== expect) return null;
  let end = data.length;
  // Ethernet pads short frames to 60 bytes: cut the IP packet at its own length when that fits.
  if (version === 4 && data.length >= at + 4) {
    const total = u16be(data, at + 2);
    if (total >= 20 && at + total < end) end = at + total;
  } else if (version === 6 && data.length >= at + 6) {
    const payload = u16be(data, at + 4);
    // Payload length 0 is a jumbogram (RFC 2675): its length is elsewhere, keep the whole frame.
    if (payload > 0 && at + 40 + payload < end) end = at + 40 + payload;
  }
  return { ipVersion: version, ip: data.subarray(at, end) };
}

/** A link type frameIpPacket cannot produce. */
export class UnsupportedLinkTypeError extends Error {
  override name = 'UnsupportedLinkTypeError';
}

/**
 * Wraps an IP packet in a frame of the given link type, for capture writers: Ethernet with zero MAC
 * addresses, Linux SLL/SLL2 as a TUN device would show (no link address), or the packet as it is for raw IP.
 */
export function frameIpPacket(linkType: number, ip: Uint8Array): Uint8Array {
  const version = ip.length > 0 ? ip[0]! >> 4 : 0;
  if (version !== 4 && version !== 6) {
    throw new UnsupportedLinkTypeError(`frameIpPacket needs an IPv4 or IPv6 packet; got version ${version}`);
  }
  const type = version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  let out: Uint8Array;
  switch (linkType) {
    case LinkType.RAW:
      return ip.slice();
    case LinkType.IPV4:
    case LinkType.IPV6:
      if ((linkType === LinkType.IPV4) !== (version === 4)) {
        throw new UnsupportedLinkTypeError(`link type ${linkType} cannot carry an IPv${version} packet`);
      }
      return ip.slice();
    case LinkType.ETHERNET:
      out = new Uint8Array(ETHERNET_HEADER + ip.length);
      out[12] = type >> 8;
      out[13] = type & 0xff;
      out.set(ip, ETHERNET_HEADER);
      return out;
    case LinkType.LINUX_SLL:
      // packet type 0 (to us), ARPHRD_NONE, address length 0, 8 address bytes, protocol.
      out = new Uint8Array(SLL_HEADER + ip.length);
      out[2] = ARPHRD_NONE >> 8;
      out[3] = ARPHRD_NONE & 0xff;
      out[14] = type >> 8;
      out[15] = type & 0xff;
      out.set(ip, SLL_HEADER);
      return out;
    case LinkType.LINUX_SLL2:
      // protocol, reserved, interface index 0, ARPHRD_NONE, packet type 0, address length 0, 8 address bytes.
      out = new Uint8Array(SLL2_HEADER + ip.length);
      out[0] = type >> 8;
      out[1] = type & 0xff;
      out[8] = ARPHRD_NONE >> 8;
      out[9] = ARPHRD_NONE & 0xff;
      out.set(ip, SLL2_HEADER);
      return out;
    default:
      throw new UnsupportedLinkTypeError(
        `cannot frame IP packets for link type ${linkType}; use LinkType.RAW, IPV4, IPV6, ETHERNET, LINUX_SLL or LINUX_SLL2`,
      );
  }
}
