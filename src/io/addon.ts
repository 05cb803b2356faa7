/**
 * Loads a native addon of native/ (built by native/build.mjs), building it on first use when `npm ci` could
 * not (or its source is newer than the binary). Where it cannot be built or loaded, the reason is returned:
 * each caller decides what works without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type AddonName = 'tun' | 'udp';

const BUILD_SCRIPT = fileURLToPath(new URL('../../native/build.mjs', import.meta.url));

/** Where addon `name`'s binary lives (a worker thread may load it directly once loadAddon() has built it). */
export function addonBinary(name: AddonName): string {
  return fileURLToPath(new URL(`../../native/build/mptcp_${name}.node`, import.meta.url));
}

const SHARED_HEADER = fileURLToPath(new URL('../../native/napi-util.h', import.meta.url));

/** Missing, or older than its source or the header both sources include. */
function stale(source: string, binary: string): boolean {
  if (!existsSync(binary)) return true;
  const built = statSync(binary).mtimeMs;
  return [source, SHARED_HEADER].some((f) => existsSync(f) && statSync(f).mtimeMs > built);
}

/** The addon's exports, or why it cannot be had here. */
export function loadAddon<T>(name: AddonName): T | string {
  if (process.platform !== 'linux') return `the ${name} addon is Linux-only (this is ${process.platform})`;
  const binary = addonBinary(name);
  const source = fileURLToPath(new URL(`../../native/${name}.c`, import.meta.url));
  if (stale(source, binary)) {
    const r = spawnSync(process.execPath, [BUILD_SCRIPT, name], { encoding: 'utf8' });
    if (r.status !== 0 && !existsSync(binary))
      return `the ${name} addon is not built and building it failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`;
  }
  try {
    return createRequire(import.meta.url)(binary) as T;
  } catch (e) {
    return `the ${name} addon ${binary} does not load (${(e as Error).message}); rebuild it with: node native/build.mjs ${name}`;
  }
}
