#!/usr/bin/env node
/**
 * Builds the addons (native/tun.c -> native/build/mptcp_tun.node, native/udp.c -> native/build/mptcp_udp.node)
 * with the system C compiler and Node's own Node-API headers. Run by `npm ci`/`npm install` (scripts.install)
 * and, when a binary is missing or older than its source, by src/io/addon.ts on first use.
 *
 *   node native/build.mjs [tun|udp]            build (both by default); exit 1 with the reason when one cannot
 *   node native/build.mjs --install            the same, but never fail the install: print what is unavailable
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
/** Each addon, and what goes missing without it. */
export const ADDONS = {
  tun: { source: join(here, 'tun.c'), binary: join(here, 'build', 'mptcp_tun.node'), without: 'TUN transport unavailable' },
  udp: {
    source: join(here, 'udp.c'),
    binary: join(here, 'build', 'mptcp_udp.node'),
    without: "the UDP transport uses node:dgram, one system call per datagram",
  },
};

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

/** Builds addon `name` (a key of ADDONS); returns null on success, or the reason it could not be built. */
export function build(name) {
  const { source, binary } = ADDONS[name];
  if (process.platform !== 'linux') return `the ${name} addon is Linux-only (this is ${process.platform})`;
  const headers = headerCandidates().find((d) => existsSync(join(d, 'node_api.h')));
  if (!headers)
    return `no Node-API headers found (looked in ${headerCandidates().join(', ')}); install node-api-headers or set MPTCP_TS_NODE_HEADERS`;
  const cc = process.env.CC || 'cc';
  const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return `no C compiler ('${cc}' ${probe.error ? `cannot run: ${probe.error.code}` : 'failed'}); install one (apt-get install gcc) or set CC`;
  mkdirSync(dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  const args = ['-O2', '-std=gnu11', '-fPIC', '-shared', '-pthread', '-Wall', '-Wextra'];
  args.push('-fvisibility=hidden', `-I${headers}`, '-o', tmp, source);
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    return `${cc} failed:\n${r.stderr || r.stdout}`;
  }
  renameSync(tmp, binary);
  return null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const install = process.argv.includes('--install');
  const names = process.argv.slice(2).filter((a) => a in ADDONS);
  for (const name of names.length ? names : Object.keys(ADDONS)) {
    const why = build(name);
    if (why === null) {
      if (!install) process.stdout.write(`built ${ADDONS[name].binary}\n`);
    } else if (install) {
      process.stderr.write(`mptcp-ts: the ${name} addon was not built (${ADDONS[name].without}): ${why}\n`);
    } else {
      process.stderr.write(`mptcp-ts: cannot build the ${name} addon: ${why}\n`);
      process.exitCode = 1;
    }
  }
}
