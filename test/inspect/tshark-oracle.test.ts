/**
 * tshark as a decoding oracle: every MPTCP option tshark decodes in the shared kernel captures must be decoded
 * by `inspect` with the same values, field by field. Skipped only outside CI when tshark is absent.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { analyse } from '../../src/inspect/connections.ts';
import { type JsonOption, optionToJson } from '../../src/inspect/option-json.ts';
import { decodeCaptureFile } from '../../src/inspect/packets.ts';
import { DecodeError } from '../../src/wire/errors.ts';
import { CAPTURES, capturePath } from '../support/captures.ts';

const TSHARK = '/usr/bin/tshark';
const haveTshark = existsSync(TSHARK);
const skip = !haveTshark && !process.env.CI ? 'tshark is not installed (apt-get install tshark)' : false;

type TsharkOption = Record<string, unknown>;

/** tshark's JSON for each frame: the list of MPTCP option trees in wire order. */
function tsharkOptions(file: string): Map<number, TsharkOption[]> {
  const out = execFileSync(TSHARK, ['-r', file, '-T', 'json', '--no-duplicate-keys', '-J', 'tcp frame'], {
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  const frames = new Map<number, TsharkOption[]>();
  for (const pkt of JSON.parse(out) as { _source: { layers: Record<string, Record<string, unknown>> } }[]) {
    const layers = pkt._source.layers;
    const frame = Number(layers.frame!['frame.number']);
    const tree = (layers.tcp?.['tcp.options_tree'] ?? {}) as Record<string, unknown>;
    const m = tree.mptcp;
    frames.set(frame, m === undefined ? [] : ((Array.isArray(m) ? m : [m]) as TsharkOption[]));
  }
  return frames;
}

const SUBTYPES = [
  'MP_CAPABLE',
  'MP_JOIN',
  'DSS',
  'ADD_ADDR',
  'REMOVE_ADDR',
  'MP_PRIO',
  'MP_FAIL',
  'MP_FASTCLOSE',
  'MP_TCPRST',
];
const flag = (o: TsharkOption, name: string): boolean | undefined => {
  const v = (o['tcp.options.mptcp.flags_tree'] as Record<string, string> | undefined)?.[
    `tcp.options.mptcp.${name}`
  ];
  return v === undefined ? undefined : v === '1' || v === 'True';
};
const field = (o: TsharkOption, name: string): string | undefined => {
  const v = o[`tcp.options.mptcp.${name}`] ?? o[name];
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
};
const hexOfDecimal = (d: string, bytes: number) =>
  BigInt(d)
    .toString(16)
    .padStart(bytes * 2, '0');
const hexOfColons = (s: string) => s.replaceAll(':', '').toLowerCase();

/** The fields tshark decoded for one option, in the names and forms of `inspect --json`. */
function expected(o: TsharkOption): Record<string, unknown> {
  const subtype = SUBTYPES[Number(field(o, 'subtype'))] ?? 'UNKNOWN';
  const e: Record<string, unknown> = { subtype };
  const set = (k: string, v: unknown) => {
    if (v !== undefined) e[k] = v;
  };
  const num = (n: string) => (field(o, n) === undefined ? undefined : Number(field(o, n)));
  switch (subtype) {
    case 'MP_CAPABLE':
      set('version', num('version'));
      set('flags', num('flags'));
      set('senderKey', field(o, 'sendkey') && hexOfDecimal(field(o, 'sendkey')!, 8));
      set('receiverKey', field(o, 'recvkey') && hexOfDecimal(field(o, 'recvkey')!, 8));
      set('dataLength', num('datalvllen'));
      set('checksum', num('checksum'));
      break;
    case 'MP_JOIN':
      set('backup', flag(o, 'backup.flag'));
      set('addressId', num('addrid'));
      set('token', field(o, 'recvtok') && hexOfDecimal(field(o, 'recvtok')!, 4));
      set('nonce', field(o, 'sendrand') && hexOfDecimal(field(o, 'sendrand')!, 4));
      set('hmac', field(o, 'sendtrunchmac') && hexOfDecimal(field(o, 'sendtrunchmac')!, 8));
      set('hmac', field(o, 'sendhmac') && hexOfColons(field(o, 'sendhmac')!));
      break;
    case 'DSS':
      set('dataFin', flag(o, 'datafin.flag'));
      set('dataAck', field(o, 'rawdataack'));
      set('dsn', field(o, 'rawdataseqno'));
      set('ssn', num('subflowseqno'));
      set('dataLength', num('datalvllen'));
      set('checksum', num('checksum'));
      break;
    case 'ADD_ADDR':
      set('echo', field(o, 'echo') === undefined ? undefined : field(o, 'echo') === '1');
      set('addressId', num('addrid'));
      set('address', field(o, 'ipv4') ?? field(o, 'ipv6'));
      set('port', num('port'));
      set('hmac', field(o, 'addaddrtrunchmac') && hexOfDecimal(field(o, 'addaddrtrunchmac')!, 8));
      break;
    case 'REMOVE_ADDR':
      set('addressIds', field(o, 'addrid')?.split(',').map(Number));
      break;
    case 'MP_PRIO':
      set('backup', flag(o, 'backup.flag'));
      set('addressId', num('addrid'));
      break;
    case 'MP_FASTCLOSE':
      set('receiverKey', field(o, 'recvkey') && hexOfDecimal(field(o, 'recvkey')!, 8));
      break;
    case 'MP_TCPRST':
      set('transient', flag(o, 'flag_T.flag'));
      set('reason', num('rst_reason'));
      break;
  }
  return e;
}

for (const cap of CAPTURES) {
  test(`tshark and inspect agree on every MPTCP option of ${cap.name}`, { skip }, () => {
    assert.ok(haveTshark, 'tshark must be installed in CI (.ci/run installs it)');
    const file = capturePath(cap.name);
    const theirs = tsharkOptions(file);
    const decoded = decodeCaptureFile(readFileSync(file));
    assert.ok(!(decoded instanceof DecodeError), String(decoded));
    const ours = new Map(decoded.segments.map((s) => [s.frame, s.mptcp.map(optionToJson)]));
    let options = 0;
    let fields = 0;
    for (const [frame, list] of theirs) {
      const mine: JsonOption[] = ours.get(frame) ?? [];
      assert.equal(
        mine.length,
        list.length,
        `frame ${frame}: tshark sees ${list.length} MPTCP options, inspect ${mine.length}`,
      );
      list.forEach((t, i) => {
        const e = expected(t);
        for (const [k, v] of Object.entries(e)) {
          assert.deepEqual(mine[i]![k], v, `frame ${frame} option ${i} (${e.subtype}) field ${k}`);
          fields++;
        }
        options++;
      });
    }
    assert.equal(options, cap.mptcpOptions, 'every MPTCP option of the capture was compared');
    assert.ok(fields > options * 2, `compared ${fields} fields`);
  });

  test(`inspect reassembles ${cap.name} into the i mod 251 pattern and verifies its HMACs`, () => {
    const decoded = decodeCaptureFile(readFileSync(capturePath(cap.name)));
    assert.ok(!(decoded instanceof DecodeError));
    const a = analyse(decoded.segments);
    assert.equal(a.connections.length, cap.connections.length);
    let hmacs = 0;
    a.connections.forEach((c, i) => {
      const want = cap.connections[i]!;
      assert.equal(c.fallback, want.fallback);
      assert.equal(c.subflows.length, want.subflows);
      for (const [dir, n] of [
        ['clientToServer', want.clientToServer],
        ['serverToClient', want.serverToClient],
      ] as const) {
        const s = c.streams[dir];
        assert.deepEqual(s.gaps, [], `${dir} has no gaps`);
        assert.equal(s.bytes, n, `${dir} bytes`);
        assert.equal(s.conflictingBytes, 0);
        assert.equal(s.sha256, patternSha256(n), `${dir} is the i mod 251 pattern`);
      }
      for (const s of c.subflows.slice(1)) {
        assert.equal(s.hmacValid.synAck, true);
        assert.equal(s.hmacValid.ack, true);
        hmacs += 2;
      }
      for (const ad of c.announced.filter((x) => !x.echo)) {
        assert.equal(ad.hmacValid, true);
        hmacs++;
      }
    });
    assert.equal(hmacs, cap.hmacs, 'every MP_JOIN and ADD_ADDR HMAC was recomputed');
  });
}

function patternSha256(n: number): string {
  const buf = Buffer.alloc(n);
  for (let i = 0; i < n; i++) buf[i] = i % 251;
  return createHash('sha256').update(buf).digest('hex');
}
