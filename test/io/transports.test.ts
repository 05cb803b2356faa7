/**
 * Transports by name: 'udp' and 'tun' are known; misuse is refused with a TransportError that says what to
 * give. (The TUN transport carrying traffic is tested against the kernel in test/interop/kernel.live.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransportError } from '../../src/io/transport.ts';
import { createTransport, transportKinds } from '../../src/io/transports.ts';

test('udp and tun are the known transports; an unknown kind names them', () => {
  assert.deepEqual(transportKinds().sort(), ['tun', 'udp']);
  assert.throws(
    () => createTransport('quic', undefined, ['10.0.0.1']),
    (e) => e instanceof TransportError && /known: udp, tun/.test(e.message),
  );
});

test('the TUN transport needs a device and the addresses behind it', () => {
  assert.throws(
    () => createTransport('tun', undefined, ['10.9.1.2']),
    (e) => e instanceof TransportError && /needs a device/.test(e.message),
  );
  assert.throws(
    () => createTransport('tun', { device: 'mptun9' }, []),
    (e) => e instanceof TransportError && /addresses the stack owns/.test(e.message),
  );
});

test('TCP-in-UDP carries no TCP checksum, so the stack over it need not compute one', async () => {
  const udp = createTransport('udp', undefined, ['127.0.0.1']);
  assert.equal(udp.carriesTcpChecksum, false);
  await udp.close();
});
