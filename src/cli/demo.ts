/**
 * `mptcp-ts demo`: the first thing a newcomer runs. Until the multipath engine runs in the simulator, it
 * decodes the shared Linux-kernel capture: one MPTCP connection over three paths, end to end.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyse } from '../inspect/connections.ts';
import { decodeCaptureFile } from '../inspect/packets.ts';
import { toText } from '../inspect/report.ts';
import { DecodeError } from '../wire/errors.ts';
import type { CommandRegistrar } from './main.ts';

const here = dirname(fileURLToPath(import.meta.url));
const CAPTURE = 'captures/kernel-3paths-prio-rmaddr.pcap';

export const registerDemo: CommandRegistrar = (program, setCode) => {
  program
    .command('demo')
    .description('decode a real Linux MPTCP capture (three paths, MP_PRIO, REMOVE_ADDR)')
    .action(async () => {
      const file = [join(here, '../../../shared', CAPTURE), join(here, '../../shared', CAPTURE)].find(
        existsSync,
      );
      if (!file) {
        process.stderr.write(`demo: ${CAPTURE} not found beside the repository (../shared)\n`);
        setCode(1);
        return;
      }
      const cap = decodeCaptureFile(await readFile(file));
      if (cap instanceof DecodeError) throw new Error(`the shared capture does not decode: ${cap.message}`);
      process.stdout.write(`Decoding ${file}\n\n${toText(cap, analyse(cap.segments), { packets: false })}\n`);
    });
};
