/** `mptcp-ts inspect FILE [--json]`: decode a capture and group its segments into MPTCP connections. */
import { readFile } from 'node:fs/promises';
import { analyse } from '../inspect/connections.ts';
import { decodeCaptureFile } from '../inspect/packets.ts';
import { toJson, toText } from '../inspect/report.ts';
import { DecodeError } from '../wire/errors.ts';
import type { CommandRegistrar } from './main.ts';

export const registerInspect: CommandRegistrar = (program, setCode) => {
  program
    .command('inspect')
    .description('decode every TCP segment of a capture (pcap/pcapng) and group them into MPTCP connections')
    .argument('<file>', 'capture file')
    .option('--json', 'print { packets, connections } as JSON')
    .option('--no-packets', 'omit the per-packet listing from the human output')
    .action(async (file: string, opts: { json?: boolean; packets: boolean }) => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (e) {
        process.stderr.write(`inspect: cannot read ${file}: ${(e as Error).message}\n`);
        setCode(2);
        return;
      }
      const cap = decodeCaptureFile(bytes);
      if (cap instanceof DecodeError) {
        process.stderr.write(`inspect: ${file} is not a capture (${cap.message})\n`);
        setCode(2);
        return;
      }
      const analysis = analyse(cap.segments);
      if (opts.json) process.stdout.write(`${JSON.stringify(toJson(cap, analysis), null, 1)}\n`);
      else process.stdout.write(`${toText(cap, analysis, { packets: opts.packets })}\n`);
    });
};
