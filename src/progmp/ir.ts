/**
 * The checked program: names resolved to slots and registers, aliases to canonical members, every
 * expression typed and marked nullable or not. Interpreter, compiler and dump all read this form. Nodes
 * have one shape per class (monomorphic) so the interpreter's property reads stay fast.
 */

export type Type =
  | 'int'
  | 'bool'
  | 'string'
  | 'subflow'
  | 'packet'
  | 'sbflist'
  | 'pktlist'
  | 'null'
  | 'error';

export const TYPE_NAMES: Record<Type, string> = {
  int: 'int',
  bool: 'bool',
  string: 'string',
  subflow: 'subflow',
  packet: 'packet',
  sbflist: 'subflow list',
  pktlist: 'packet list',
  null: 'NULL',
  error: 'error',
};

export const Op = {
  // Expressions.
  Int: 0,
  Str: 1,
  Bool: 2,
  Null: 3,
  Local: 4,
  Reg: 5,
  Queue: 6,
  Subflows: 7,
  Now: 8,
  Random: 9,
  Add: 10,
  Sub: 11,
  Mul: 12,
  Div: 13,
  Mod: 14,
  Lt: 15,
  Le: 16,
  Gt: 17,
  Ge: 18,
  Eq: 19,
  Ne: 20,
  IsNull: 21,
  NotNull: 22,
  And: 23,
  Or: 24,
  Not: 25,
  SbfProp: 26,
  PktProp: 27,
  HasWindow: 28,
  SentOn: 29,
  SentOnAll: 30,
  Empty: 31,
  Count: 32,
  Top: 33,
  Get: 34,
  Filter: 35,
  Min: 36,
  Max: 37,
  Sum: 38,
  Pop: 39,
  // Statements.
  Var: 40,
  Set: 41,
  If: 42,
  Foreach: 43,
  Drop: 44,
  Print: 45,
  Return: 46,
  Void: 47,
  Push: 48,
  SetUser: 49,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Subflow properties (PROGMP.md "Members"); SbfProp nodes carry one in `n`. */
export const SbfProp = {
  RTT: 0,
  RTT_MS: 1,
  RTT_US: 2,
  RTT_VAR: 3,
  CWND: 4,
  SSTHRESH: 5,
  SKBS_IN_FLIGHT: 6,
  QUEUED: 7,
  LOST_SKBS: 8,
  IS_BACKUP: 9,
  THROTTLED: 10,
  LOSSY: 11,
  ID: 12,
  DELAY_IN: 13,
  DELAY_OUT: 14,
  BW_OUT_SEND: 15,
  BW_OUT_ACK: 16,
  MSS: 17,
  USER: 18,
} as const;

/** Packet properties; PktProp nodes carry one in `n`. */
export const PktProp = { SEQ: 0, LENGTH: 1, PSH: 2, USER: 3 } as const;

/** Effect bits of an expression subtree (`X.fx`, filled by effects.ts). */
export const Fx = {
  /** Draws RANDOM. */
  RANDOM: 1,
  /** POPs a queue. */
  POP: 2,
  /** Reads a register. */
  REG: 4,
  /** Reads Q, QU or RQ. */
  QUEUE: 8,
  /** Reads a subflow's USER value. */
  USER: 16,
  /** Iterates a list (FILTER, MIN, MAX, SUM): costs steps. */
  LOOP: 32,
} as const;

/** Queue numbers of Queue nodes (as PacketQueue in src/sched/types.ts). */
export const QUEUE_NAMES = ['Q', 'QU', 'RQ'] as const;

/**
 * An expression. Fields by op: literals keep their value in `n` (Int, Bool as 0/1) or `s` (Str); Local has
 * the slot in `n` and the name in `s`; Reg the register index 0..5; Queue the queue number; binary ops use
 * `a` and `b`; SbfProp/PktProp the receiver in `a` and the property in `n`; HasWindow/SentOn the receiver in
 * `a` and the argument in `b`; list members the list in `a` (Get's index in `b`); Filter/Min/Max/Sum the
 * lambda body in `b`, its parameter's slot in `n` and name in `s`; Filter's result buffer is `site`.
 * `fx` holds the subtree's effect bits (Fx).
 */
export class X {
  constructor(
    public op: Op,
    public type: Type,
    public nullable: boolean,
    public a: X | null = null,
    public b: X | null = null,
    public n = 0,
    public s = '',
    public site = -1,
    public fx = 0,
  ) {}
}

/**
 * A statement. Var: slot `n`, name `s`, initialiser `a`, snapshot `site` when `a` is a live queue; Set:
 * register `n`, value `a`; If: condition `a`, `body`, `alt`; Foreach: slot `n`, name `s`, list `a`, `body`;
 * Drop: `a`; Print: format `a`, value `b`; Void: `a` (or null); Push: subflow `a`, packet `b`; SetUser:
 * subflow `a`, value `b`.
 */
export class S {
  constructor(
    public op: Op,
    public a: X | null = null,
    public b: X | null = null,
    public n = 0,
    public s = '',
    public body: S[] | null = null,
    public alt: S[] | null = null,
    public site = -1,
  ) {}
}

/** What a program touches, so a run prepares only that (effects.ts). */
export interface Uses {
  /** Q, QU, RQ by queue number. */
  queues: [boolean, boolean, boolean];
  /** SUBFLOWS (or SENT_ON_ALL, which reads it). */
  subflows: boolean;
  /** A register is read or SET. */
  regs: boolean;
  now: boolean;
  random: boolean;
  /** A POP somewhere. */
  pops: boolean;
  /** A SET somewhere. */
  sets: boolean;
  /** A SET_USER somewhere. */
  setUser: boolean;
  /** A PRINT somewhere. */
  prints: boolean;
  /** SET or SET_USER: the run must be able to undo them. */
  writes: boolean;
}

export interface Program {
  name: string | null;
  uses: Uses;
  body: S[];
  /** Local variable slots (variables, lambda parameters, FOREACH variables). */
  slots: number;
  /** List buffers (FILTER results and VAR snapshots of live queues). */
  sites: number;
}
