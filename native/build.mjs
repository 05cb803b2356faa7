#!/usr/bin/env node
/**
 * Builds the TUN addon (native/tun.c -> native/build/mptcp_tun.node) with the system C compiler and Node's
 * own Node-API headers. Run by `npm ci`/`npm install` (scripts.install) and, when the binary is missing or
 * older than its source, by src/io/tun-addon.ts on first use.
 *
 *   node native/build.mjs            build; exit 1 with the reason when it cannot
 *   node native/build.mjs --install  the same, but never fail the install: print why TUN is unavailable
 *
 * Environment: CC (compiler, default cc), MPTCP_TS_NODE_HEADERS (a folder holding node_api.h).
 * The build writes a temporary file and renames it, so concurrent builds never leave a torn binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE = join(here, 'tun.c');
export const BINARY = join(here, 'build', 'mptcp_tun.node');

/** Folders that may hold node_api.h: an override, Node's installation, the node-api-headers package. */
function headerCandidates() {
  const dirs = [];
  if (process.env.MPTCP_TS_NODE_HEADERS) dirs.push(process.env.MPTCP_TS_NODE_HEADERS);
  dirs.push(join(dirname(process.execPath), '..', 'include', 'node'));
  try {
    const require = createRequire(import.meta.url);
    dirs.push(join(dirname(require.resolve('node-api-headers/package.json')), 'include'));
  } catch {
    // not installed: Node's own headers are the usual source
  }
  return dirs;
}

/** Builds the addon; returns null on success, or the reason it could not be built. */
export function build() {
  if (process.platform !== 'linux') return `TUN devices are Linux-only (this is ${process.platform})`;
  const headers = headerCandidates().find((d) => existsSync(join(d, 'node_api.h')));
  if (!headers)
    return `no Node-API headers found (looked in ${headerCandidates().join(', ')}); install node-api-headers or set MPTCP_TS_NODE_HEADERS`;
  const cc = process.env.CC || 'cc';
  const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return `no C compiler ('${cc}' ${probe.error ? `cannot run: ${probe.error.code}` : 'failed'}); install one (apt-get install gcc) or set CC`;
  mkdirSync(dirname(BINARY), { recursive: true });
  const tmp = `${BINARY}.${process.pid}.tmp`;
  const args = ['-O2', '-std=gnu11', '-fPIC', '-shared', '-pthread', '-Wall', '-Wextra'];
  args.push('-fvisibility=hidden', `-I${headers}`, '-o', tmp, SOURCE);
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    return `${cc} failed:\n${r.stderr || r.stdout}`;
  }
  renameSync(tmp, BINARY);
  return null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const install = process.argv.includes('--install');
  const why = build();
  if (why === null) {
    if (!install) process.stdout.write(`built ${BINARY}\n`);
  } else if (install) {
    process.stderr.write(`mptcp-ts: the TUN addon was not built, TUN transport unavailable: ${why}\n`);
  } else {
    process.stderr.write(`mptcp-ts: cannot build the TUN addon: ${why}\n`);
    process.exitCode = 1;
  }
}
