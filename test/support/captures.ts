/** The shared kernel captures (../shared/captures) and what each is known to contain (see its README). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** ../shared beside the repository (CI clones the repository with shared/ beside it). */
export const SHARED =
  [join(here, '../../../shared'), join(here, '../../shared')].find((p) => existsSync(p)) ?? '';

export const CAPTURES_DIR = join(SHARED, 'captures');
export const capturePath = (name: string) => join(CAPTURES_DIR, `${name}.pcap`);

export interface KnownCapture {
  name: string;
  /** MPTCP options in the whole file (from the capture's .expect.json). */
  mptcpOptions: number;
  /** MP_JOIN SYN/ACK + ACK HMACs and non-echo ADD_ADDR HMACs. */
  hmacs: number;
  connections: { fallback: boolean; subflows: number; clientToServer: number; serverToClient: number }[];
}

export const CAPTURES: KnownCapture[] = [
  {
    name: 'kernel-3paths-prio-rmaddr',
    mptcpOptions: 377,
    hmacs: 6,
    connections: [{ fallback: false, subflows: 3, clientToServer: 239232, serverToClient: 0 }],
  },
  {
    name: 'kernel-ipv6-fallback',
    mptcpOptions: 101,
    hmacs: 3,
    connections: [
      { fallback: false, subflows: 2, clientToServer: 42720, serverToClient: 4272 },
      { fallback: true, subflows: 1, clientToServer: 8544, serverToClient: 0 },
    ],
  },
];
