/** The kernel side of a test: kernel-peer.py in a namespace, its JSON events awaited with time limits. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Ns, Testbed } from './testbed.ts';

export const PEER_SCRIPT = fileURLToPath(new URL('../kernel-peer.py', import.meta.url));

export interface PeerDone {
  received: number;
  intact: boolean;
  firstBad: number | null;
  sent: number;
  error: string | null;
  seconds: number;
  /** The socket was still MPTCP at the end (not fallen back). */
  mptcp: boolean;
  aborted?: boolean;
  /** MPTCP_INFO at the end: extra subflows (the initial one not counted), ADD_ADDR signalled/accepted. */
  info?: {
    subflows: number;
    addAddrSignal: number;
    addAddrAccepted: number;
    flags: number;
    token: number;
  } | null;
  maxSubflows?: number;
  /** Per subflow ("local>remote" as the kernel sees it) the largest tcp_info byte counters sampled. */
  subflowStats?: Record<string, { bytesAcked: number; bytesReceived: number; bytesSent: number }>;
}

export interface PeerOptions {
  port: number;
  /** Bytes of the i mod 251 pattern to send (then SHUT_WR). */
  send?: number;
  /** Send for this many seconds instead of a byte count. */
  time?: number;
  tcp?: boolean;
  /** Close with SO_LINGER 0 (MP_FASTCLOSE) after receiving this many bytes. */
  abortAfter?: number;
  bind?: string;
  cc?: string;
}

type PeerEvent = { event: string } & Record<string, unknown>;

export class KernelPeer {
  private readonly events: PeerEvent[] = [];
  private readonly waiters: { name: string; resolve: (e: PeerEvent) => void }[] = [];
  private stderr = '';
  private exited = false;
  readonly child: ChildProcess;

  private constructor(
    private readonly tb: Testbed,
    ns: Ns,
    args: string[],
  ) {
    this.child = tb.spawn(ns, ['python3', PEER_SCRIPT, ...args]);
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.push(JSON.parse(line) as PeerEvent);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w.resolve({ event: 'exit' });
    });
  }

  static server(tb: Testbed, ns: Ns, o: PeerOptions): KernelPeer {
    return new KernelPeer(tb, ns, ['server', ...args(o)]);
  }

  static client(tb: Testbed, ns: Ns, host: string, o: PeerOptions): KernelPeer {
    return new KernelPeer(tb, ns, ['client', host, ...args(o)]);
  }

  private push(e: PeerEvent): void {
    this.events.push(e);
    for (let i = 0; i < this.waiters.length; i++)
      if (this.waiters[i]!.name === e.event) this.waiters.splice(i--, 1)[0]!.resolve(e);
  }

  /** The first event of this name (already seen or coming), within `ms`. */
  wait(name: string, ms: number): Promise<PeerEvent> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`kernel peer: no '${name}' within ${ms} ms (stderr: ${this.stderr.trim() || '-'})`));
      }, ms);
      if (this.exited) {
        clearTimeout(timer);
        reject(new Error(`kernel peer exited before '${name}' (stderr: ${this.stderr.trim() || '-'})`));
        return;
      }
      this.waiters.push({
        name,
        resolve: (e) => {
          clearTimeout(timer);
          if (e.event === 'exit')
            reject(new Error(`kernel peer exited before '${name}' (stderr: ${this.stderr.trim() || '-'})`));
          else resolve(e);
        },
      });
    });
  }

  /** The peer's listener is up; a starved host can take seconds to start Python. */
  listening(ms = 30_000): Promise<PeerEvent> {
    return this.wait('listening', ms);
  }

  async done(ms: number): Promise<PeerDone> {
    return (await this.wait('done', ms)) as unknown as PeerDone;
  }

  stop(): Promise<void> {
    return this.tb.stop(this.child);
  }
}

function args(o: PeerOptions): string[] {
  const a = ['--port', String(o.port)];
  if (o.send) a.push('--send', String(o.send));
  if (o.time) a.push('--time', String(o.time));
  if (o.tcp) a.push('--tcp');
  if (o.abortAfter !== undefined) a.push('--abort-after', String(o.abortAfter));
  if (o.bind) a.push('--bind', o.bind);
  if (o.cc) a.push('--cc', o.cc);
  return a;
}
