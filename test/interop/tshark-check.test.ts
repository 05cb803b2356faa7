/**
 * The interop tests' tshark check (harness/checks.ts) on a real kernel capture: none of its data segments is
 * unmapped, and once a middlebox-like rewrite strips the MPTCP options from the data segments of the capture's
 * second half, the check reports the segments no remaining mapping covers. So the check's narrowing of
 * tshark's verdict (a mapping elsewhere in the capture that covers the segment) cannot hide real gaps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stripMptcpOptions } from '../../src/sim/middlebox.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { LinkType } from '../../src/wire/link.ts';
import { PcapWriter, readCapture } from '../../src/wire/pcap.ts';
import { capturePath } from '../support/captures.ts';
import { tshark } from './harness/checks.ts';
import { tsharkAvailable } from './harness/testbed.ts';

const ETHERNET_HEADER = 14;

/** TCP payload bytes of an IPv4 packet (0 when it is not one). */
function tcpPayload(ip: Uint8Array): number {
  if (ip.length < 40 || ip[0]! >>> 4 !== 4) return 0;
  const ihl = (ip[0]! & 0x0f) * 4;
  return ((ip[2]! << 8) | ip[3]!) - ihl - (ip[ihl + 12]! >>> 4) * 4;
}

test('the tshark check finds no unmapped segment in a kernel capture, and finds the ones a rewrite unmapped', {
  skip: tsharkAvailable() ? false : 'tshark is not installed',
}, () => {
  const original = capturePath('kernel-3paths-prio-rmaddr');
  const cap = readCapture(readFileSync(original));
  if (cap instanceof DecodeError) throw new Error(cap.message);
  assert.equal(cap.records[0]!.linkType, LinkType.ETHERNET);
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-ts-tshark-check-'));
  try {
    const before = tshark(original);
    assert.ok(before.dataSegments > 100);
    assert.deepEqual(before.unmapped, []);
    const w = new PcapWriter(LinkType.ETHERNET);
    const half = cap.records.length / 2;
    let stripped = 0;
    for (const r of cap.records) {
      const ip = r.data.subarray(ETHERNET_HEADER);
      const bare = r.frame > half && tcpPayload(ip) > 0 ? stripMptcpOptions(ip) : null;
      if (bare === null) w.add(r.timeUs, r.data);
      else {
        const out = new Uint8Array(ETHERNET_HEADER + bare.length);
        out.set(r.data.subarray(0, ETHERNET_HEADER));
        out.set(bare, ETHERNET_HEADER);
        w.add(r.timeUs, out);
        stripped++;
      }
    }
    const file = join(dir, 'stripped.pcap');
    writeFileSync(file, w.toBytes());
    const after = tshark(file);
    assert.ok(stripped > 20, `${stripped} data segments lost their options`);
    // Mappings of the first half may still cover the first stripped segments; the rest are unmapped.
    assert.ok(
      after.unmapped.length > stripped / 2 && after.unmapped.length <= stripped,
      `${after.unmapped.length} of ${stripped} stripped data segments reported unmapped`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the tshark check reads the pattern as data: a segment that looks like another protocol is not malformed', {
  skip: tsharkAvailable() ? false : 'tshark is not installed',
}, () => {
  const cap = readCapture(readFileSync(capturePath('kernel-3paths-prio-rmaddr')));
  if (cap instanceof DecodeError) throw new Error(cap.message);
  // The pattern (byte i = i mod 251) from 1, 792 bytes: 01 02 03 04 … with 20 + 0x0304 bytes reads as a STUN
  // message to tshark's heuristics, which then call it malformed (a kernel segment in a CI capture did so).
  const payload = Uint8Array.from({ length: 792 }, (_, i) => (i + 1) % 251);
  const w = new PcapWriter(LinkType.ETHERNET);
  let rewritten = 0;
  for (const r of cap.records) {
    const ip = r.data.subarray(ETHERNET_HEADER);
    if (rewritten > 0 || tcpPayload(ip) < payload.length) {
      w.add(r.timeUs, r.data);
      continue;
    }
    const headers = ETHERNET_HEADER + (ip.length - tcpPayload(ip));
    const out = new Uint8Array(headers + payload.length);
    out.set(r.data.subarray(0, headers));
    out.set(payload, headers);
    const total = out.length - ETHERNET_HEADER;
    out[ETHERNET_HEADER + 2] = total >> 8;
    out[ETHERNET_HEADER + 3] = total & 0xff;
    w.add(r.timeUs, out);
    rewritten++;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mptcp-ts-tshark-check-'));
  try {
    const file = join(dir, 'stun-like.pcap');
    writeFileSync(file, w.toBytes());
    assert.equal(rewritten, 1);
    assert.deepEqual(tshark(file).malformed, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
