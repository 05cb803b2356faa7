/**
 * A DSS mapping's subflow sequence number is 32 bits on the wire; the TCP layer counts without wrapping, so a
 * subflow that has carried 4 GiB must widen it (the loopback benchmark stalled at 4.29 GB sent on a subflow:
 * every later mapping was filed 2^32 too low and the data never found it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { widenSsn } from '../../src/mptcp/connection.ts';
import { MappingTable } from '../../src/mptcp/mapping.ts';

const G4 = 2 ** 32;

test('the 32-bit ssn of a mapping is widened near the segment it came with', () => {
  assert.equal(widenSsn(1, 1), 1);
  assert.equal(widenSsn(5000, 1000), 5000);
  // Past 4 GiB: the field wrapped.
  assert.equal(widenSsn(50, G4 + 100), G4 + 50);
  assert.equal(widenSsn(200, G4 + 100), G4 + 200);
  // The mapping began just before the wrap, the segment just after it.
  assert.equal(widenSsn(G4 - 10, G4 + 5), G4 - 10);
  assert.equal(widenSsn(5, G4 - 10), G4 + 5);
  // Several wraps on.
  assert.equal(widenSsn(7, 3 * G4 + 1), 3 * G4 + 7);
});

test('after the wrap, data finds its mapping and acknowledged mappings are pruned', () => {
  const t = new MappingTable();
  const seg = G4 + 1000; // the unwrapped ssn the TCP layer hands over
  const wire = seg % G4;
  t.add(widenSsn(wire, seg), 1400, 7_000_000_000);
  assert.equal(t.find(seg)?.offset, 7_000_000_000);
  assert.equal(t.find(wire), undefined, 'the raw 32-bit value is not a stream position');
  // A subflow-level ACK past the mapping, as 32 bits relative to ssn 1.
  const acked = (seg + 1400) % G4;
  t.pruneBefore(widenSsn(acked, t.first!.ssn));
  assert.equal(t.size, 0);
});
