/**
 * `mptcp-ts server [--port P] [--addresses A,B] [--once] [--json]`: the other end of `mptcp-ts client`.
 * For each connection it reads the client's request (or takes a plain pattern sender as is), then receives
 * and verifies the pattern, or sends it (--reverse on the client), and prints a summary or one JSON object.
 */

import { createServer } from '../api/server.ts';
import type { MptcpSocket } from '../api/socket.ts';
import { DEFAULT_PERF_PORT, LiveLine, optionsFromFlags, type StackFlags } from './client.ts';
import type { CommandRegistrar } from './main.ts';
import { type FlowOptions, type FlowResult, receivePattern, sendPattern } from './perf-flow.ts';
import { decodeRequest, HEADER_LENGTH, mayBeRequest } from './perf-header.ts';
import { formatInterval, formatSummary } from './perf-report.ts';
import { tuningOptions } from './tcp-flags.ts';

export interface ServerCliOptions extends Omit<StackFlags, 'local' | 'pathManager' | 'mss'> {
  port: string;
  addresses?: string;
  once?: boolean;
  json?: boolean;
  announce?: boolean;
  interval: string;
}

/** Reads the request header (or decides there is none) and runs the test it asks for. */
function serve(s: MptcpSocket, flow: FlowOptions): Promise<FlowResult> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.length < HEADER_LENGTH && mayBeRequest(head)) return;
      s.off('data', onData);
      s.pause();
      const req = decodeRequest(head);
      if (req === null) {
        // A plain pattern sender (mptcp-bulk.py): these bytes are already payload.
        receivePattern(s, flow, head).then(resolve, reject);
      } else if (req.reverse) {
        s.resume();
        const limit = req.bytes > 0 ? { bytes: req.bytes } : { seconds: (req.timeMs || 10_000) / 1000 };
        sendPattern(s, limit, flow).then(resolve, reject);
      } else receivePattern(s, flow, head.subarray(HEADER_LENGTH)).then(resolve, reject);
      s.resume();
    };
    s.on('data', onData);
    s.on('error', () => {});
  });
}

export async function runServer(o: ServerCliOptions): Promise<number> {
  const interval = Number(o.interval);
  const live = new LiveLine(false);
  const server = createServer({
    ...optionsFromFlags({ ...o, local: o.addresses }),
    ...(o.announce ? { announce: true } : {}),
  });
  let code = 0;
  let n = 0;
  const finished = new Promise<void>((resolve) => server.on('close', resolve));
  server.on('connection', (s: MptcpSocket) => {
    const id = ++n;
    const who = `connection ${id} from ${s.remoteAddress}:${s.remotePort}`;
    if (!o.json) live.print(`${who}`);
    const flow: FlowOptions = {
      interval,
      onInterval: o.json ? undefined : (x) => live.print(`#${id} ${formatInterval(x)}`),
    };
    serve(s, flow).then(
      (r) => {
        if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else process.stdout.write(`${formatSummary(who, r)}\n`);
        if (r.error || r.integrity === false) code = 1;
        if (o.once) server.close();
      },
      (e: Error) => {
        process.stderr.write(`server: ${e.message}\n`);
        code = 1;
        if (o.once) server.close();
      },
    );
  });
  server.on('error', (e: Error) => {
    process.stderr.write(`server: ${e.message}\n`);
    code = 2;
    server.close();
  });
  const port = Number(o.port);
  server.listen(port, () => {
    // With --json, stdout carries only the results: the listening line goes to stderr.
    const line = `listening on ${server.listeningAddresses().join(', ')} port ${server.address()!.port}\n`;
    (o.json ? process.stderr : process.stdout).write(line);
  });
  await finished;
  return code;
}

export const registerServer: CommandRegistrar = (program, setCode) => {
  tuningOptions(program.command('server'))
    .description('the other end of `mptcp-ts client`: receives (and verifies) or sends the i mod 251 pattern')
    .option('-p, --port <port>', 'port to listen on', String(DEFAULT_PERF_PORT))
    .option('--addresses <list>', 'addresses to listen on, comma separated (default: every address)')
    .option('--once', 'exit after the first connection')
    .option('--json', 'print one JSON object per connection')
    .option('--announce', 'announce the other addresses to each client (ADD_ADDR)')
    .option('--scheduler <name|file>', 'scheduler for data the server sends')
    .option('--cc <name>', 'congestion control')
    .option('--transport <kind>', 'udp (default: TCP-in-UDP) or tun (real IP through a TUN device, root)')
    .option(
      '--tun-device <name>',
      'with --transport tun: the device; --addresses gives the addresses behind it',
    )
    .option('--tun-netns <name>', 'with --transport tun: the network namespace the device lives in')
    .option('--pcap <file>', "capture every segment (raw IP packets with the subflows' addresses) into FILE")
    .option('-i, --interval <seconds>', 'report interval', '1')
    .action(async (opts: ServerCliOptions) => {
      try {
        setCode(await runServer(opts));
      } catch (e) {
        process.stderr.write(`server: ${(e as Error).message}\n`);
        setCode(2);
      }
    });
};
