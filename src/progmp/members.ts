/** Which members each type has, with their result types, and the aliases of the Extensions. */
import { Op, PktProp, SbfProp, type Type } from './ir.ts';

export type MemberShape = 'prop' | 'call' | 'lambda';

export interface Member {
  shape: MemberShape;
  op: Op;
  /** Property number for SbfProp/PktProp. */
  prop: number;
  result: Type | 'elem';
  /** Argument type (call) or lambda body type (lambda). */
  arg: Type | null;
}

const prop = (op: Op, p: number, result: Type | 'elem'): Member => ({
  shape: 'prop',
  op,
  prop: p,
  result,
  arg: null,
});
const sbfInt = (p: number) => prop(Op.SbfProp, p, 'int');
const sbfBool = (p: number) => prop(Op.SbfProp, p, 'bool');

export const SUBFLOW_MEMBERS: Record<string, Member> = {
  RTT: sbfInt(SbfProp.RTT),
  RTT_MS: sbfInt(SbfProp.RTT_MS),
  RTT_US: sbfInt(SbfProp.RTT_US),
  RTT_VAR: sbfInt(SbfProp.RTT_VAR),
  CWND: sbfInt(SbfProp.CWND),
  SSTHRESH: sbfInt(SbfProp.SSTHRESH),
  SKBS_IN_FLIGHT: sbfInt(SbfProp.SKBS_IN_FLIGHT),
  QUEUED: sbfInt(SbfProp.QUEUED),
  LOST_SKBS: sbfInt(SbfProp.LOST_SKBS),
  IS_BACKUP: sbfBool(SbfProp.IS_BACKUP),
  THROTTLED: sbfBool(SbfProp.THROTTLED),
  LOSSY: sbfBool(SbfProp.LOSSY),
  ID: sbfInt(SbfProp.ID),
  DELAY_IN: sbfInt(SbfProp.DELAY_IN),
  DELAY_OUT: sbfInt(SbfProp.DELAY_OUT),
  BW_OUT_SEND: sbfInt(SbfProp.BW_OUT_SEND),
  BW_OUT_ACK: sbfInt(SbfProp.BW_OUT_ACK),
  MSS: sbfInt(SbfProp.MSS),
  USER: sbfInt(SbfProp.USER),
  HAS_WINDOW_FOR: { shape: 'call', op: Op.HasWindow, prop: 0, result: 'bool', arg: 'packet' },
};

export const PACKET_MEMBERS: Record<string, Member> = {
  SEQ: prop(Op.PktProp, PktProp.SEQ, 'int'),
  LENGTH: prop(Op.PktProp, PktProp.LENGTH, 'int'),
  PSH: prop(Op.PktProp, PktProp.PSH, 'bool'),
  USER: prop(Op.PktProp, PktProp.USER, 'int'),
  SENT_ON: { shape: 'call', op: Op.SentOn, prop: 0, result: 'bool', arg: 'subflow' },
  SENT_ON_ALL: prop(Op.SentOnAll, 0, 'bool'),
};

const LIST_COMMON: Record<string, Member> = {
  EMPTY: prop(Op.Empty, 0, 'bool'),
  COUNT: prop(Op.Count, 0, 'int'),
  GET: { shape: 'call', op: Op.Get, prop: 0, result: 'elem', arg: 'int' },
  FILTER: { shape: 'lambda', op: Op.Filter, prop: 0, result: 'elem', arg: 'bool' },
};

export const SUBFLOW_LIST_MEMBERS: Record<string, Member> = {
  ...LIST_COMMON,
  MIN: { shape: 'lambda', op: Op.Min, prop: 0, result: 'elem', arg: 'int' },
  MAX: { shape: 'lambda', op: Op.Max, prop: 0, result: 'elem', arg: 'int' },
  SUM: { shape: 'lambda', op: Op.Sum, prop: 0, result: 'int', arg: 'int' },
};

export const PACKET_LIST_MEMBERS: Record<string, Member> = {
  ...LIST_COMMON,
  TOP: prop(Op.Top, 0, 'elem'),
  POP: { shape: 'call', op: Op.Pop, prop: 0, result: 'elem', arg: null },
};

/** Alias → canonical member name (PROGMP.md Extensions). */
export const ALIASES: Record<string, string> = {
  TSQ_THROTTLED: 'THROTTLED',
  BACKUP: 'IS_BACKUP',
  SIZE: 'LENGTH',
  FIRST: 'TOP',
  RTT_AVG: 'RTT_MS',
};

export function membersOf(t: Type): Record<string, Member> | null {
  switch (t) {
    case 'subflow':
      return SUBFLOW_MEMBERS;
    case 'packet':
      return PACKET_MEMBERS;
    case 'sbflist':
      return SUBFLOW_LIST_MEMBERS;
    case 'pktlist':
      return PACKET_LIST_MEMBERS;
    default:
      return null;
  }
}

/** Canonical member name of property `n` for dumps. */
export const SBF_PROP_NAMES = Object.keys(SbfProp);
export const PKT_PROP_NAMES = Object.keys(PktProp);
