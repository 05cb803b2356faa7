/** tshark as a decoding oracle: the tests that ask it whether a capture has malformed packets or bad checksums. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TSHARK = '/usr/bin/tshark';

/** What tshark's expert information says of a malformed packet or a bad checksum. */
export const MALFORMED_OR_BAD_CHECKSUM = /malformed|bad checksum|checksum.*(incorrect|bad)/i;

/**
 * The TCP payload of our captures is a test pattern, never an application protocol: decoded as plain data, or
 * tshark's heuristic dissectors take some segments for another protocol and report them malformed (a kernel
 * segment whose pattern bytes began 01 02 03 04 was read as a STUN message).
 */
export const PAYLOAD_AS_DATA = ['-d', 'tcp.port==1-65535,data'];

/** Runs tshark on a capture (bytes, or a file's path) with the IP and TCP checksum checks on. */
export function tshark(capture: Uint8Array | string, args: string[]): string {
  const dir = typeof capture === 'string' ? null : mkdtempSync(join(tmpdir(), 'mptcp-ts-tshark-'));
  try {
    const file = dir === null ? (capture as string) : join(dir, 'capture.pcap');
    if (dir !== null) writeFileSync(file, capture as Uint8Array);
    return execFileSync(
      TSHARK,
      [
        '-r',
        file,
        ...PAYLOAD_AS_DATA,
        '-o',
        'tcp.check_checksum:TRUE',
        '-o',
        'ip.check_checksum:TRUE',
        ...args,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
  } finally {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}

/** tshark's expert information about a capture. */
export const tsharkExpert = (capture: Uint8Array | string): string => tshark(capture, ['-z', 'expert', '-q']);
