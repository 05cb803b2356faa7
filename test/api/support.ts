/** Helpers for socket API tests on loopback: a server on 127.0.0.1, clients with 127.0.0.1 and 127.0.0.2. */
import { once } from 'node:events';
import { PATTERN_CHUNK_MAX, patternChunk } from '../../src/cli/pattern.ts';
import {
  type ConnectOptions,
  connect,
  createServer,
  type MptcpServer,
  type MptcpSocket,
  type ServerOptions,
} from '../../src/index.ts';

export const LOOPBACK_PATHS = ['127.0.0.1', '127.0.0.2'];

export async function listen(
  onConnection: (s: MptcpSocket) => void,
  options: ServerOptions = {},
): Promise<{ server: MptcpServer; port: number }> {
  const server = createServer(options, onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: server.address()!.port };
}

/**
 * A server and one connected client over the two loopback paths; resolves with both ends of the connection
 * once each exists. The server's socket is not read: a Readable starts paused.
 */
export async function connectedPair(
  serverOptions: ServerOptions = {},
  clientOptions: Partial<ConnectOptions> = {},
): Promise<{ server: MptcpServer; client: MptcpSocket; peer: MptcpSocket }> {
  let peer: MptcpSocket | null = null;
  const { server, port } = await listen((s) => {
    peer = s;
  }, serverOptions);
  const client = connect({ port, host: '127.0.0.1', addresses: LOOPBACK_PATHS, ...clientOptions });
  await once(client, 'connect');
  while (peer === null) await new Promise((r) => setTimeout(r, 5));
  return { server, client, peer };
}

/** Writes `total` pattern bytes with back-pressure, then ends; resolves when all was handed to the socket. */
export async function sendPattern(
  s: MptcpSocket,
  total: number,
  onProgress?: (sent: number) => void,
): Promise<void> {
  await writePattern(s, 0, total, onProgress);
  s.end();
}

/** Writes the pattern's bytes [from, to) with back-pressure. */
export async function writePattern(
  s: MptcpSocket,
  from: number,
  to: number,
  onProgress?: (sent: number) => void,
): Promise<void> {
  for (let sent = from; sent < to; ) {
    const n = Math.min(PATTERN_CHUNK_MAX, to - sent);
    const ok = s.write(patternChunk(sent, n));
    sent += n;
    onProgress?.(sent);
    if (!ok) await once(s, 'drain');
  }
}

/** Resolves when `emitter` emits `event`, rejects after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}
