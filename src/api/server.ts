/**
 * MptcpServer: accepts multipath connections like `net.Server` (listen, 'listening', 'connection', 'close',
 * 'error', address(), close(), getConnections()). It listens on one port on each of its addresses (default:
 * every address of the host), and can announce its other addresses to each client (ADD_ADDR), as Linux's
 * `signal` endpoints do.
 */
import { EventEmitter } from 'node:events';
import { canonicalAddress, familyOf, isLoopback, systemAddresses } from '../io/interfaces.ts';
import type { MptcpConnection } from '../mptcp/connection.ts';
import { withEnvironment } from './env.ts';
import { MptcpApiError } from './errors.ts';
import { StackHost, serverPathManagerFor } from './host.ts';
import { checkOptions, type MultipathOptions } from './options.ts';
import { MptcpSocket } from './socket.ts';

export interface ServerOptions extends MultipathOptions {
  /** Announce the server's other addresses to each client (ADD_ADDR). Default false. */
  announce?: boolean;
}

export interface ListenOptions {
  port?: number;
  /** One address to listen on; `addresses` (or the server options') for several; default every address. */
  host?: string;
  addresses?: string[];
}

export class MptcpServer extends EventEmitter {
  listening = false;
  private host: StackHost | null = null;
  private port = 0;
  private addresses: string[] = [];
  private readonly sockets = new Set<MptcpSocket>();
  private readonly options: ServerOptions;
  private closing = false;
  private closeCallbacks: ((err?: Error) => void)[] = [];

  constructor(options: ServerOptions = {}, connectionListener?: (socket: MptcpSocket) => void) {
    super();
    this.options = options;
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** listen(port?, host?, callback?) or listen({ port, host, addresses }, callback?), like net.Server. */
  listen(options: ListenOptions, callback?: () => void): this;
  listen(port?: number, host?: string, callback?: () => void): this;
  listen(port?: number, callback?: () => void): this;
  listen(a?: ListenOptions | number, b?: string | (() => void), c?: () => void): this {
    const o: ListenOptions = typeof a === 'object' ? { ...a } : { port: a ?? 0 };
    if (typeof b === 'string') o.host = b;
    const cb = typeof b === 'function' ? b : c;
    if (this.listening || this.host !== null)
      throw new MptcpApiError('the server is already listening: close it first or create another');
    if (cb) this.once('listening', cb);
    this.start(o).catch((e: unknown) => this.emit('error', e));
    return this;
  }

  private async start(o: ListenOptions): Promise<void> {
    const opts = withEnvironment(this.options);
    checkOptions(opts, 'server options');
    const port = o.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new MptcpApiError(`port must be an integer in 0..65535, got ${port}`);
    const wanted = o.addresses ?? (o.host !== undefined ? [o.host] : opts.addresses);
    const addresses = (
      wanted ??
      systemAddresses()
        .filter((a) => !a.linkLocal)
        .map((a) => a.address)
    ).map((a) => {
      const c = canonicalAddress(a);
      if (c === null) throw new MptcpApiError(`'${a}' is not an IP address: listen on IP addresses`);
      return c;
    });
    if (addresses.length === 0) throw new MptcpApiError('no address to listen on');
    const host = new StackHost(opts, addresses);
    this.host = host;
    host.acquire();
    try {
      // The first bind picks the port when none was given; every other address uses the same one.
      this.port = await host.transport.open(addresses[0]!, port, 'listener');
      for (const a of addresses.slice(1)) await host.transport.open(a, this.port, 'listener');
    } catch (e) {
      this.host = null;
      host.release();
      await host.close();
      throw e;
    }
    this.addresses = addresses;
    host.endpoint.listen(this.port, (conn) => this.accepted(host, conn, opts), {
      pathManager: serverPathManagerFor(opts, addresses),
    });
    this.listening = true;
    this.emit('listening');
  }

  private accepted(host: StackHost, conn: MptcpConnection, opts: ServerOptions): void {
    if (this.closing) {
      conn.abort('server closing');
      return;
    }
    if (opts.announce) {
      const local = conn.initial()?.tcp.local.address;
      for (const a of this.addresses)
        if (
          a !== local &&
          local !== undefined &&
          familyOf(a) === familyOf(local) &&
          isLoopback(a) === isLoopback(local)
        )
          conn.announce(a);
    }
    const socket = MptcpSocket.accepted(host, conn, opts);
    this.sockets.add(socket);
    // A connection counts until the engine finished it (after the socket's own 'close' when it closed
    // gracefully), so the listener stays for its subflows' joins until then.
    const done = () => {
      if (!this.sockets.delete(socket)) return;
      this.maybeClosed();
    };
    socket.on('mptcp', (e) => {
      if (e.type === 'closed') done();
    });
    if (conn.isClosed()) done();
    this.emit('connection', socket);
  }

  /** The port and first address, like net.Server.address(); null before listening. */
  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | null {
    if (!this.listening) return null;
    const a = this.addresses[0]!;
    return { address: a, family: familyOf(a) === 6 ? 'IPv6' : 'IPv4', port: this.port };
  }

  /** Every address the server listens on. */
  listeningAddresses(): string[] {
    return [...this.addresses];
  }

  /** Stops accepting; 'close' follows once every accepted connection has closed. */
  close(callback?: (err?: Error) => void): this {
    if (callback) this.closeCallbacks.push(callback);
    if (!this.listening) {
      if (callback) queueMicrotask(() => callback(new MptcpApiError('the server is not listening')));
      return this;
    }
    if (this.closing) return this;
    this.closing = true;
    this.listening = false;
    // The TCP listener stays until the last connection is gone: its subflows' joins still arrive there.
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.sockets.size > 0) return;
    const cbs = this.closeCallbacks;
    this.closeCallbacks = [];
    // The host closes its transport by itself once the connections still finishing their close are done.
    const host = this.host;
    this.host = null;
    if (host) {
      host.endpoint.tcp.unlisten(this.port);
      host.release();
    }
    queueMicrotask(() => {
      for (const cb of cbs) cb();
      this.emit('close');
    });
  }

  getConnections(callback: (err: Error | null, count: number) => void): this {
    queueMicrotask(() => callback(null, this.sockets.size));
    return this;
  }

  /** Connections accepted and not yet closed. */
  connections(): MptcpSocket[] {
    return [...this.sockets];
  }

  /** The transport's counters (datagrams, drops, errors); empty before listening. */
  get transportStats(): Readonly<Record<string, number>> {
    return this.host?.transport.stats ?? {};
  }

  ref(): this {
    this.host?.transport.setRef(true);
    return this;
  }

  unref(): this {
    this.host?.transport.setRef(false);
    return this;
  }
}

/** A multipath server, like net.createServer. */
export function createServer(
  options?: ServerOptions | ((socket: MptcpSocket) => void),
  connectionListener?: (socket: MptcpSocket) => void,
): MptcpServer {
  if (typeof options === 'function') return new MptcpServer({}, options);
  return new MptcpServer(options ?? {}, connectionListener);
}
