/**
 * The socket API's acceptance runs on the shared test bed (test/support/testbed.ts): why they skip here, the
 * paths' payload capacity, and a `mptcp-ts server` / `mptcp-ts client` pair across the two hosts.
 */
import { segmentPayload } from '../../../src/mptcp/config.ts';
import { collect, stealMeter, type Testbed, testbedSkipReason } from '../../support/testbed.ts';

/** Why the test bed runs cannot happen here (a clear message), or null when they can. */
export const skipReason = (): string | null => testbedSkipReason('the test bed');

const BIN = new URL('../../../bin/mptcp-ts', import.meta.url).pathname;

/** An Ethernet frame of a full segment: 14 + 20 (IP) + 8 (UDP) + 12 (TCP-in-UDP) + the MSS (1460). */
const FRAME = 1514;
/** Payload of a full data segment at MSS 1460. */
const PAYLOAD = segmentPayload(1460);
/** What the two 100 Mbit/s paths (rates count L2 bytes) carry of the pattern over UDP: Mbit/s of payload. */
export const PAYLOAD_CAPACITY_MBPS = (2 * 100 * PAYLOAD) / FRAME;

/** What a `mptcp-ts client --json` / `server --json` pair printed, and the steal (%) during the run. */
export interface ClientServerRun {
  client: Record<string, unknown>;
  server: Record<string, unknown>;
  stealPct: number;
}

/**
 * `mptcp-ts server` in mpt-srv (10.1.1.1) and `mptcp-ts client` in mpt-cli over both paths (10.0.1.1,
 * 10.0.2.1) for `seconds`, over UDP; `during(ms)` is called every 100 ms from the client's connection on.
 */
export async function clientServerRun(
  bed: Testbed,
  opts: {
    seconds: number;
    port: number;
    cc?: string;
    /** More flags of `mptcp-ts client` (such as --no-coalesce). */
    clientFlags?: readonly string[];
    during?: (ms: number) => void;
  },
): Promise<ClientServerRun> {
  const node = process.execPath;
  const server = bed.spawn('mpt-srv', [
    node,
    BIN,
    'server',
    '--port',
    String(opts.port),
    '--addresses',
    '10.1.1.1',
    '--once',
    '--json',
  ]);
  const serverOut = collect(server);
  await new Promise((r) => setTimeout(r, 1500));
  const client = bed.spawn('mpt-cli', [
    node,
    BIN,
    'client',
    '10.1.1.1',
    '--port',
    String(opts.port),
    '--local',
    '10.0.1.1,10.0.2.1',
    '--time',
    String(opts.seconds),
    '--json',
    ...(opts.cc ? ['--cc', opts.cc] : []),
    ...(opts.clientFlags ?? []),
  ]);
  const clientOut = collect(client);
  // The clock starts when the client is connected, as the intervals of its report do.
  await new Promise<void>((resolve) => {
    let err = '';
    const onData = (d: Buffer) => {
      err += d;
      if (!err.includes('connected to')) return;
      client.stderr!.off('data', onData);
      resolve();
    };
    client.stderr!.on('data', onData);
    client.once('exit', () => resolve());
  });
  const t0 = Date.now();
  const steal = stealMeter();
  const during = opts.during;
  const timer = during ? setInterval(() => during(Date.now() - t0), 100) : null;
  const c = await clientOut;
  const stealPct = steal();
  if (timer) clearInterval(timer);
  const s = await serverOut;
  if (c.code !== 0) throw new Error(`mptcp-ts client exited with ${c.code}: ${c.stderr}`);
  if (s.code !== 0) throw new Error(`mptcp-ts server exited with ${s.code}: ${s.stderr}`);
  return { client: JSON.parse(c.stdout), server: JSON.parse(s.stdout.trim().split('\n').at(-1)!), stealPct };
}
