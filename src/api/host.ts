/**
 * One MPTCP endpoint on a real transport: the engine (MptcpEndpoint), its event loop (StackDriver) and the
 * transport (UDP sockets, later TUN). A client socket has its own host; a server shares one between its
 * listener and every accepted connection. The host keeps the process alive while it has users and closes
 * its transport shortly after the last one leaves (long enough to answer the peer's last retransmissions).
 */
import { randomInt } from 'node:crypto';
import { StackDriver } from '../io/driver.ts';
import { FileSink } from '../io/file-sink.ts';
import { familyOf, mtuOf, systemAddresses } from '../io/interfaces.ts';
import type { Transport } from '../io/transport.ts';
import { createTransport } from '../io/transports.ts';
import type { MptcpConfig } from '../mptcp/config.ts';
import type { PathManager } from '../mptcp/connection.ts';
import { MptcpEndpoint } from '../mptcp/endpoint.ts';
import { createPathManager, createServerPathManager } from '../pm/index.ts';
import { LINUX_BEHAVIOURS, type TcpConfig } from '../tcp/config.ts';
import { Rng } from '../util/rng.ts';
import { MS } from '../util/time.ts';
import { LinkType } from '../wire/link.ts';
import { PcapWriter } from '../wire/pcap.ts';
import type { MultipathOptions, PathManagerSpec } from './options.ts';

/** How long a host with no users keeps its transport open, for the peer's last retransmissions. */
const LINGER_MS = 2000;
/** The largest MSS an IPv4 datagram can carry in this layout (65 535 less IP, UDP and TCP-in-UDP headers). */
export const MAX_AUTO_MSS = 65_495;

/** An MSS that fits the smallest MTU behind `addresses` without IP fragmentation (IP and TCP-in-UDP headers). */
export function defaultMss(addresses: string[]): number {
  const list = systemAddresses();
  let mss = MAX_AUTO_MSS;
  for (const a of addresses) {
    const overhead = familyOf(a) === 6 ? 60 : 40;
    mss = Math.min(mss, (mtuOf(list, a) ?? 1500) - overhead);
  }
  return mss;
}

/** The path manager of a connection this side opens. */
export function pathManagerFor(o: MultipathOptions, localAddresses: string[]): PathManager {
  const spec: PathManagerSpec = o.pathManager ?? 'fullmesh';
  if (typeof spec === 'function') return spec({ localAddresses });
  return createPathManager({ name: spec, ...pmSpec(o, localAddresses) });
}

/** The path manager factory of a listener (one manager per accepted connection). */
export function serverPathManagerFor(o: MultipathOptions, localAddresses: string[]): () => PathManager {
  const spec: PathManagerSpec = o.pathManager ?? 'passive';
  if (typeof spec === 'function') return () => spec({ localAddresses });
  return createServerPathManager({ name: spec, ...pmSpec(o, localAddresses) });
}

function pmSpec(o: MultipathOptions, localAddresses: string[]) {
  const backupAddresses = (o.backupList ?? []).flatMap((p) =>
    p.local !== undefined && p.remote === undefined ? [p.local] : [],
  );
  return {
    localAddresses,
    ...(o.subflowsPerPath !== undefined ? { subflowsPerPath: o.subflowsPerPath } : {}),
    ...(backupAddresses.length ? { backupAddresses } : {}),
    ...(o.maxSubflows !== undefined ? { limits: { subflows: o.maxSubflows, addAddrAccepted: 8 } } : {}),
  };
}

export class StackHost {
  readonly endpoint: MptcpEndpoint;
  readonly driver: StackDriver;
  readonly transport: Transport;
  readonly mss: number;
  /** The capture's file until it is closed. */
  private pcapFile: FileSink | null;
  private users = 0;
  private linger: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(opts: MultipathOptions, localAddresses: string[]) {
    this.mss = opts.mss ?? defaultMss(localAddresses);
    const kind = opts.transport ?? 'udp';
    const transport = createTransport(kind, opts.transportOptions?.[kind], localAddresses);
    const subflowTcp: Partial<TcpConfig> = {
      mss: this.mss,
      ...LINUX_BEHAVIOURS,
      // Each window spread over the round trip (a token bucket, TcpConfig.pacing). Over UDP on the test bed it
      // halved the loss events of LIA (4 against 7-8 per 30 s run) and raised its goodput (median 171 against
      // 163 Mbit/s in paired runs). Through TUN to the kernel it cost 9 points (90 % of the kernel's goodput
      // against 99 %), so it stays off there.
      pacing: kind === 'udp',
      ...(opts.noDelay === false ? { nagle: true } : {}),
      ...opts.config?.tcp,
    };
    // Keep-alives (the engine's subflowKeepAlive) also keep NAT mappings of idle subflows alive.
    const keepAlive =
      opts.keepAlive === false
        ? { subflowKeepAlive: 0 }
        : opts.keepAliveIdleMs !== undefined
          ? { subflowKeepAlive: Math.max(MS, opts.keepAliveIdleMs * MS) }
          : {};
    const config: Partial<MptcpConfig> = {
      // Applications write in pieces of every size (a header, then a body; messages of a few hundred bytes):
      // queued behind a full window they leave as full segments, as with Linux.
      coalesceWrites: true,
      ...opts.config,
      ...keepAlive,
      ...(opts.scheduler !== undefined ? { scheduler: opts.scheduler } : {}),
      ...(opts.cc !== undefined ? { cc: opts.cc } : {}),
      ...(opts.checksum !== undefined ? { checksum: opts.checksum } : {}),
      ...(opts.maxSubflows !== undefined ? { maxSubflows: opts.maxSubflows } : {}),
      tcp: {
        ...subflowTcp,
        checksumOffload: !transport.carriesTcpChecksum,
        gatherPayload: transport.gathers,
      },
    };
    const seed = opts.seed ?? randomInt(0, 2 ** 32);
    this.endpoint = new MptcpEndpoint({ rng: new Rng(seed), config });
    this.transport = transport;
    // The capture streams to its file (bounded memory), flushed in 1 MB pieces, at close, and at the latest
    // when the process exits (a client commonly exits before its host's linger ends).
    this.pcapFile = opts.pcap ? new FileSink(opts.pcap) : null;
    if (this.pcapFile) process.once('exit', this.closePcap);
    const capture = this.pcapFile
      ? new PcapWriter(LinkType.RAW, 262144, { sink: this.pcapFile.write })
      : undefined;
    this.driver = new StackDriver(this.endpoint, this.transport, capture ? { capture } : {});
  }

  /** A connection or listener starts using the host. */
  acquire(): void {
    if (this.linger !== null) clearTimeout(this.linger);
    this.linger = null;
    if (this.users++ === 0) this.transport.setRef(true);
  }

  /** A user is done; the last one lets the process exit and closes the transport after a short linger. */
  release(): void {
    if (this.users === 0) return;
    if (--this.users > 0) return;
    this.transport.setRef(false);
    this.linger = setTimeout(() => void this.close(), LINGER_MS);
    this.linger.unref();
  }

  private readonly closePcap = (): void => {
    if (this.pcapFile === null) return;
    process.off('exit', this.closePcap);
    this.pcapFile.close();
    this.pcapFile = null;
  };

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.linger !== null) clearTimeout(this.linger);
      this.driver.stop();
      await this.transport.close();
      this.closePcap();
    })();
    return this.closing;
  }
}
