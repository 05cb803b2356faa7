import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createPathManager,
  createServerPathManager,
  PathManagerError,
  type PathManagerSpec,
} from '../../src/pm/index.ts';
import { assertDelivered, clientAddress, pmBed, run, serverAddress } from './bed.ts';

const addresses = [1, 2, 3].map(clientAddress);

test('each named manager, as the scenario runner calls it, gives its subflows on three paths', () => {
  const expect: Record<string, string[]> = {
    passive: ['10.0.1.1'],
    fullmesh: ['10.0.1.1', '10.0.2.1', '10.0.3.1'],
    ndiffports: ['10.0.1.1', '10.0.1.1', '10.0.1.1'],
    endpoints: ['10.0.1.1', '10.0.2.1', '10.0.3.1'],
  };
  for (const [name, locals] of Object.entries(expect)) {
    const spec: PathManagerSpec = {
      name: name as PathManagerSpec['name'],
      localAddresses: addresses,
      subflowsPerPath: name === 'ndiffports' ? 3 : 1,
      backupAddresses: [clientAddress(3)],
    };
    const b = pmBed(61, [{}, {}, {}]);
    const r = run(b, 3_000_000, {
      clientPm: createPathManager(spec),
      serverPm: createServerPathManager({ ...spec, localAddresses: [serverAddress(1)] }),
    });
    assertDelivered(r);
    assert.deepEqual(
      r.clientSubflows.map((s) => s.local.address),
      locals,
      name,
    );
    for (const s of r.clientSubflows)
      assert.equal(s.backup.local, s.local.address === clientAddress(3), `${name}: subflow ${s.id} priority`);
  }
});

test('endpoints derived for more than two extra paths raise the subflows limit to cover them', () => {
  const b = pmBed(62, [{}, {}, {}, {}]);
  const spec: PathManagerSpec = { name: 'endpoints', localAddresses: [1, 2, 3, 4].map(clientAddress) };
  const r = run(b, 3_000_000, {
    clientPm: createPathManager(spec),
    serverPm: createServerPathManager({ ...spec, localAddresses: [serverAddress(1)] }),
  });
  assertDelivered(r);
  assert.equal(r.clientSubflows.length, 4);
});

test('a listener with several addresses announces the others under endpoints', () => {
  const b = pmBed(63, [{}, {}], { servers: 2 });
  const r = run(b, 3_000_000, {
    clientPm: createPathManager({
      name: 'endpoints',
      localAddresses: [clientAddress(1), clientAddress(2)],
      endpoints: [],
      limits: { addAddrAccepted: 1 },
      route: () => clientAddress(2),
    }),
    serverPm: createServerPathManager({
      name: 'endpoints',
      localAddresses: [serverAddress(1), serverAddress(2)],
    }),
  });
  assertDelivered(r);
  assert.deepEqual(
    r.clientSubflows.map((s) => `${s.local.address}>${s.remote.address}`),
    [`${clientAddress(1)}>${serverAddress(1)}`, `${clientAddress(2)}>${serverAddress(2)}`],
  );
});

test('the server factory makes a fresh manager per connection; bad specs are refused', () => {
  const f = createServerPathManager({ name: 'endpoints', localAddresses: [serverAddress(1)] });
  assert.notEqual(f(), f());
  const bad: [PathManagerSpec, RegExp][] = [
    [{ name: 'roundrobin' as PathManagerSpec['name'], localAddresses: addresses }, /unknown path manager/],
    [{ name: 'fullmesh', localAddresses: [] }, /at least/],
    [{ name: 'ndiffports', localAddresses: addresses, subflowsPerPath: 0 }, /whole number/],
    [{ name: 'endpoints', localAddresses: addresses, limits: { subflows: 9 } }, /0\.\.8/],
  ];
  for (const [spec, re] of bad)
    assert.throws(
      () => createPathManager(spec),
      (e: unknown) => e instanceof PathManagerError && re.test(e.message),
    );
});
