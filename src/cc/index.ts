/** Congestion control: pick a controller by name; coupled ones share a group per MPTCP connection. */
import { Balia } from './balia.ts';
import { Cubic } from './cubic.ts';
import { Lia } from './lia.ts';
import { Olia } from './olia.ts';
import { type CcOptions, Reno } from './reno.ts';
import type { CongestionControl } from './types.ts';

export { baliaAlpha, baliaIncrease } from './balia.ts';
export {
  type Couplable,
  CouplingError,
  CouplingGroupHandle,
  createCouplingGroup,
  GroupMember,
} from './coupling.ts';
export { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, cubicK, wCubic } from './cubic.ts';
export { liaAlpha, liaIncrease } from './lia.ts';
export { oliaAlpha, oliaIncrease } from './olia.ts';
export { CcConfigError, type CcOptions } from './reno.ts';
export type * from './types.ts';
export { Balia, Cubic, Lia, Olia, Reno };

/** The controller names `createCc` knows. */
export const CC_NAMES = ['reno', 'cubic', 'lia', 'olia', 'balia'] as const;
export type CcName = (typeof CC_NAMES)[number];

/** `createCc` was given a name it does not know. */
export class UnknownCcError extends Error {
  override name = 'UnknownCcError';
  constructor(readonly requested: string) {
    super(`unknown congestion control '${requested}': use one of ${CC_NAMES.join(', ')}`);
  }
}

/**
 * Creates a controller. With `group` and `view` the controller joins the connection's coupling group (LIA,
 * OLIA and BALIA couple through it; Reno and CUBIC only lend their windows to it) and leaves on `detach()`.
 */
export function createCc(name: CcName, opts: CcOptions): CongestionControl {
  switch (name) {
    case 'reno':
      return new Reno(opts);
    case 'cubic':
      return new Cubic(opts);
    case 'lia':
      return new Lia(opts);
    case 'olia':
      return new Olia(opts);
    case 'balia':
      return new Balia(opts);
    default:
      throw new UnknownCcError(String(name));
  }
}
