/**
 * `mptcp-ts nc HOST PORT` / `mptcp-ts nc -l PORT`: pipes stdin to a multipath connection and the connection
 * to stdout, like netcat. Stdin's end sends DATA_FIN; the command exits when the connection has closed.
 */
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createServer } from '../api/server.ts';
import { connect, type MptcpSocket } from '../api/socket.ts';
import { optionsFromFlags, type StackFlags } from './client.ts';
import type { CommandRegistrar } from './main.ts';
import { tuningOptions } from './tcp-flags.ts';

interface NcOptions
  extends Pick<StackFlags, 'local' | 'scheduler' | 'cc' | 'tcp' | 'coalesce' | 'sndbuf' | 'rcvbuf'> {
  listen?: string;
  verbose?: boolean;
}

/** Copies stdin into the socket and the socket into stdout until both directions are done. */
async function relay(s: MptcpSocket, verbose: boolean): Promise<number> {
  let failed = false;
  s.on('error', (e) => {
    failed = true;
    process.stderr.write(`nc: ${e.message}\n`);
  });
  if (verbose) s.on('mptcp', (e) => process.stderr.write(`nc: ${JSON.stringify(e)}\n`));
  const up = pipeline(process.stdin, s).catch(() => {
    failed = true;
  });
  const down = pipeline(s, process.stdout, { end: false }).catch(() => {
    failed = true;
  });
  await Promise.all([up, down]);
  if (!s.destroyed) await once(s, 'close').catch(() => {});
  process.stdin.destroy();
  return failed ? 1 : 0;
}

export async function runNc(
  host: string | undefined,
  port: string | undefined,
  o: NcOptions,
): Promise<number> {
  const opts = optionsFromFlags(o);
  if (o.listen !== undefined) {
    const server = createServer(opts);
    const accepted = new Promise<MptcpSocket>((resolve, reject) => {
      server.once('connection', resolve);
      server.once('error', reject);
    });
    server.listen(Number(o.listen), host, () => {
      if (o.verbose)
        process.stderr.write(
          `nc: listening on ${server.listeningAddresses().join(', ')} port ${server.address()!.port}\n`,
        );
    });
    const s = await accepted;
    server.close();
    if (o.verbose) process.stderr.write(`nc: connection from ${s.remoteAddress}:${s.remotePort}\n`);
    return relay(s, o.verbose === true);
  }
  if (host === undefined || port === undefined) throw new Error('give HOST PORT, or -l PORT to listen');
  const s = connect({ port: Number(port), host, ...opts });
  await once(s, 'connect');
  if (o.verbose)
    process.stderr.write(`nc: connected to ${host}:${port} from ${s.localAddresses.join(', ')}\n`);
  return relay(s, o.verbose === true);
}

export const registerNc: CommandRegistrar = (program, setCode) => {
  tuningOptions(program.command('nc'))
    .description('netcat over a multipath connection: nc HOST PORT, or nc -l PORT [HOST]')
    .argument('[host]', 'peer to connect to (or the address to listen on with -l)')
    .argument('[port]', 'peer port')
    .option('-l, --listen <port>', 'accept one connection on this port')
    .option('--local <addresses>', 'local addresses, comma separated')
    .option('--scheduler <name|file>', 'scheduler name, or a ProgMP file to load')
    .option('--cc <name>', 'congestion control')
    .option('-v, --verbose', 'connection and subflow events on stderr')
    .action(async (host: string | undefined, port: string | undefined, opts: NcOptions) => {
      try {
        setCode(await runNc(host, port, opts));
      } catch (e) {
        process.stderr.write(`nc: ${(e as Error).message}\n`);
        setCode(1);
      }
    });
};
