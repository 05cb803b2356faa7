/**
 * The kernel interop runs on the shared test bed (test/support/testbed.ts): why they must skip here, and
 * bring-up with a TUN on each side for our stacks.
 *
 * Addressing (on top of the test bed's): our client stack owns 10.9.K.2 behind mptun0 in mpt-cli (path K);
 * our server stack owns 10.10.K.1 behind mptun1 in mpt-srv, reached by the kernel client over the path its
 * source address picks (10.0.K.1 → path K).
 */
import { existsSync } from 'node:fs';
import { tunUnavailableReason } from '../../../src/io/tun-addon.ts';
import { hasCommand, Testbed, testbedSkipReason } from '../../support/testbed.ts';

export { type Ns, Testbed } from '../../support/testbed.ts';

export const CLIENT_TUN = 'mptun0';
export const SERVER_TUN = 'mptun1';
export const ourClientAddress = (k: number) => `10.9.${k}.2`;
export const ourServerAddress = (k: number) => `10.10.${k}.1`;
export const kernelServerAddress = (k: number) => `10.1.${k}.1`;
export const kernelClientAddress = (k: number) => `10.0.${k}.1`;

/** Why the interop tests cannot run here (a clear message), or null when they can. */
export function skipReason(): string | null {
  const bed = testbedSkipReason('kernel interop', [['nstat', 'iproute2']]);
  if (bed) return bed;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (no TUN support in this kernel)';
  const tun = tunUnavailableReason();
  if (tun) return `TUN is unavailable: ${tun}`;
  return null;
}

export const tsharkAvailable = (): boolean => hasCommand('tshark');

/**
 * The test bed up with `upArgs` and a TUN on each side: mptun0 in mpt-cli (testbed.sh --tun) and mptun1 in
 * mpt-srv, into which 10.10.0.0/16 is routed (mpt-srv forwards).
 */
export async function acquireWithTuns(upArgs: string[]): Promise<Testbed> {
  const tb = await Testbed.acquire([...upArgs, '--tun']);
  try {
    tb.ip('mpt-srv', 'tuntap', 'add', 'dev', SERVER_TUN, 'mode', 'tun');
    tb.ip('mpt-srv', 'link', 'set', SERVER_TUN, 'up');
    tb.ip('mpt-srv', 'route', 'add', '10.10.0.0/16', 'dev', SERVER_TUN);
    tb.exec('mpt-srv', ['sysctl', '-qw', 'net.ipv4.ip_forward=1', `net.ipv4.conf.${SERVER_TUN}.rp_filter=0`]);
  } catch (e) {
    await tb.release();
    throw e;
  }
  return tb;
}
