/**
 * Server-side fallback (RFC 8684 §3.7): a plain TCP client (no MP_CAPABLE in its SYN) reaches an MPTCP
 * listener, which carries the stream over plain TCP. The application's writes go through the connection's
 * send queue into the TCP send buffer; room made there must reach the application as onWritable, or a
 * transfer larger than one send buffer stalls (the kernel interop test saw exactly 4 MiB and then nothing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MptcpConnection } from '../../src/mptcp/connection.ts';
import { MptcpEndpoint } from '../../src/mptcp/endpoint.ts';
import { Simulator } from '../../src/sim/events.ts';
import { Network } from '../../src/sim/network.ts';
import { TcpEndpoint } from '../../src/tcp/endpoint.ts';
import { MS, SECOND } from '../../src/util/time.ts';
import { isPattern, PORT, pattern, SERVER } from './harness.ts';

const CLIENT = '10.0.1.1';

/** Writes `total` pattern bytes through `write`, again at each `onWritable`, then ends. */
function sender(write: (b: Uint8Array) => number, end: () => void, total: number) {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const k = write(pattern(sent, Math.min(64 * 1024, total - sent)));
      if (k === 0) return;
      sent += k;
    }
    end();
  };
  return { pump, sent: () => sent };
}

test('a plain TCP client and an MPTCP listener: 5 MB each way over the fallback, writes beyond one send buffer', () => {
  const sim = new Simulator(11);
  const net = new Network(sim);
  net.addLink('l1', { rate: 100e6, delay: 10 * MS, queue: { packets: 200 } });
  net.addPath('p1', ['l1'], CLIENT);
  const ch = net.addHost('client', [CLIENT]);
  const sh = net.addHost('server', [SERVER]);
  const client = new TcpEndpoint({ rng: sim.rng.fork() });
  const server = new MptcpEndpoint({ rng: sim.rng.fork() });
  ch.attach(client);
  sh.attach(server);
  const total = 5 * 1024 * 1024;
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  let conn: MptcpConnection | null = null;
  let serverSide: ReturnType<typeof sender> | null = null;
  server.listen(PORT, (c) => {
    conn = c;
    c.onData = (d) => toServer.push(d.slice());
    const s = sender(
      (b) => c.write(b),
      () => c.end(),
      total,
    );
    serverSide = s;
    c.onWritable = s.pump;
    // Written at once, before the handshake's last ACK: the queue takes one send buffer, the rest waits.
    s.pump();
  });
  const tcp = client.connect(0, { local: CLIENT, remote: SERVER, remotePort: PORT });
  tcp.onData = (d) => toClient.push(d.slice());
  const clientSide = sender(
    (b) => tcp.write(b),
    () => tcp.end(),
    total,
  );
  tcp.onEstablished = clientSide.pump;
  tcp.onWritable = clientSide.pump;
  ch.wake();
  sim.run(5 * SECOND);
  assert.ok(conn !== null, 'the listener accepted');
  assert.equal((conn as MptcpConnection).fallback, true);
  assert.equal(serverSide!.sent(), total, 'the server application wrote everything');
  const down = Buffer.concat(toClient);
  const up = Buffer.concat(toServer);
  assert.equal(down.length, total, 'the client received the whole stream');
  assert.equal(up.length, total, 'the server received the whole stream');
  assert.ok(isPattern(down) && isPattern(up), 'bytes intact');
});
