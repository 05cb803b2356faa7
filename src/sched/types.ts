/**
 * The packet-scheduler interface between the MPTCP connection layer (the engine) and a scheduler, whether a
 * built-in (src/sched/) or a ProgMP program (src/progmp/). Units and names follow PROGMP.md.
 *
 * Contract
 * --------
 * - The engine calls `schedule(state)` whenever the connection could send: new data in Q, an ACK that opens
 *   a window, a reinjection, a timer. It may do so for every packet it sends, so the call is allocation-free
 *   on both sides: the engine keeps ONE long-lived `SchedState` per connection and long-lived
 *   `SchedSubflow` / `SchedPacket` view objects that it updates in place; the scheduler reuses one outcome
 *   object per instance (valid until the next call).
 * - A scheduler never mutates the engine's queues. It returns actions; the engine carries them out after
 *   the run, in order:
 *     PUSH_NEW        the packet (from Q) is new data for that subflow: it leaves Q and joins QU;
 *     PUSH_REINJECT   the packet (from RQ) is resent on that subflow: it leaves RQ;
 *     PUSH_REDUNDANT  a copy of a packet already scheduled (a QU packet, or a Q packet pushed earlier in the
 *                     same run) on one more subflow;
 *     DROP_Q          the packet leaves Q and joins QU unsent;
 *     DROP_RQ         the reinjection is abandoned: the packet leaves RQ.
 *   Applying an action, the engine sets `packet.queue` to where the packet now is and appends the subflow to
 *   `packet.sentOn` when it hands the packet to it.
 * - No packet is ever lost: a packet leaves Q or RQ only through one of the actions above. A packet a
 *   program popped but neither pushed nor dropped is simply still at its place, the front of its queue
 *   (POP only moves the run's own read position).
 * - Re-run rule: a run that changed state (a POP that returned a packet, a DROP, a register or subflow USER
 *   value that changed) but pushed nothing sets `outcome.rerun`; the engine applies the actions and calls
 *   `schedule` again at once. The scheduler counts these and never asks more than 5 times in a row.
 * - Step budget (ProgMP): a run that exceeds its budget is stopped; its actions, register and USER changes
 *   are discarded, `outcome.budgetExceeded` is set and `stats.budgetStops` counts it.
 * - Registers R1..R6 live in `state.registers` (per connection, owned by the engine), so they survive
 *   scheduler changes; programs write them during the run.
 */
import type { Instant } from '../util/time.ts';

/** Which engine queue a packet is in (set by the engine). */
export const PacketQueue = { Q: 0, QU: 1, RQ: 2 } as const;
export type PacketQueue = (typeof PacketQueue)[keyof typeof PacketQueue];

/** One usable subflow as the scheduler sees it; integers are unsigned 32-bit (clamp before storing). */
export interface SchedSubflow {
  /** Subflow id; the initial subflow is 1. */
  id: number;
  /** Smoothed RTT in µs × 8 (the kernel's srtt_us); RTT_MS = rtt / 8000, RTT_US = rtt / 8. */
  rtt: number;
  /** RTT variation in µs × 4 (the kernel's mdev scaling). */
  rttVar: number;
  /** Congestion window in packets. */
  cwnd: number;
  /** Slow-start threshold in packets. */
  ssthresh: number;
  /** Packets sent and not yet acknowledged. */
  skbsInFlight: number;
  /** Packets pushed to the subflow and not yet sent. */
  queued: number;
  /** Packets marked lost. */
  lostSkbs: number;
  /** Local or remote backup flag (MP_PRIO / MP_JOIN B bit). */
  isBackup: boolean;
  /** The subflow's output is paced or throttled right now. */
  throttled: boolean;
  /** In loss recovery after an RTO. */
  lossy: boolean;
  /** Bytes the peer's window still accepts on this subflow: HAS_WINDOW_FOR(p) is p.length ≤ windowFree. */
  windowFree: number;
  /** One-way delay estimates (only comparisons are meaningful). */
  delayIn: number;
  delayOut: number;
  /** Bytes sent / acknowledged over about the last second. */
  bwOutSend: number;
  bwOutAck: number;
  /** Sender MSS in bytes. */
  mss: number;
  /** Per-subflow integer programs write with SET_USER; starts at 0. */
  user: number;
  /**
   * Primary-path-only (PPoS) mode: the engine sets this on the subflows the application marked primary
   * (its primary interface list). Other schedulers ignore it.
   */
  primary: boolean;
}

/** One chunk of the data stream (at most one MSS; from one application write, or several when coalesced). */
export interface SchedPacket {
  /** Data sequence number, low 32 bits. */
  seq: number;
  /** Bytes. */
  length: number;
  /** Ends an application write (with coalescing: holds the end of one). */
  psh: boolean;
  /** The `user` property of the write it came from. */
  user: number;
  /** Where the packet is; RQ entries are their own view objects, distinct from the QU entry. */
  queue: PacketQueue;
  /** The subflows this data was handed to (engine-maintained). */
  sentOn: SchedSubflow[];
  /** Scratch owned by the scheduler runtime (marks packets acted on in the current run); start it at 0. */
  stamp: number;
}

/** A queue in data-sequence order: its packets are `packets[head]`, `packets[head + 1]`, ... */
export interface PacketQueueView {
  readonly packets: readonly SchedPacket[];
  readonly head: number;
}

/** Everything a scheduler reads, kept by the engine for the life of the connection and updated in place. */
export interface SchedState {
  /** Usable subflows (established, fourth ACK of MP_JOIN received, not failed), newest first. */
  subflows: readonly SchedSubflow[];
  q: PacketQueueView;
  qu: PacketQueueView;
  rq: PacketQueueView;
  /** R1..R6 as indices 0..5, per connection. */
  registers: Uint32Array;
  /** The engine's clock (CURRENT_TIME_MS is now / 1000). */
  now: Instant;
  /** 32 random bits from the engine's seeded Rng (RANDOM). */
  random(): number;
  /** The peer's connection-level receive window in bytes (the send window, BLEST). */
  sendWindow: number;
  /** Bytes waiting in Q (ECF). */
  queuedBytes: number;
  /** Times so far the connection could not send because the send window was full (BLEST's λ). */
  sendWindowBlocked: number;
  /** Appends one line to the connection's scheduler trace (PRINT). */
  print(line: string): void;
}

export const ActionKind = {
  PUSH_NEW: 0,
  PUSH_REINJECT: 1,
  PUSH_REDUNDANT: 2,
  DROP_Q: 3,
  DROP_RQ: 4,
} as const;
export type ActionKind = (typeof ActionKind)[keyof typeof ActionKind];

export const ACTION_NAMES: readonly string[] = ['push', 'reinject', 'redundant', 'drop', 'drop-rq'];

/** One action; `subflow` is null for drops. Objects are pooled: copy what you keep. */
export interface SchedAction {
  kind: ActionKind;
  packet: SchedPacket;
  subflow: SchedSubflow | null;
}

/** What one run decided; reused by the scheduler, valid until its next `schedule` call. */
export interface SchedOutcome {
  /** Valid actions are actions[0 .. count-1]. */
  readonly actions: readonly SchedAction[];
  readonly count: number;
  /** Apply the actions, then call `schedule` again straight away. */
  readonly rerun: boolean;
  /** The run hit its step budget and was discarded. */
  readonly budgetExceeded: boolean;
}

/** Per-scheduler counters (shared by every instance created under one name). */
export interface SchedulerStats {
  executions: number;
  actions: number;
  /** Sum of clock deltas around runs, in the unit of the clock passed in (0 without a clock). */
  timeSpent: number;
  budgetStops: number;
  reruns: number;
}

/** One scheduler instance serves one connection (it may keep per-connection state such as a cursor). */
export interface Scheduler {
  readonly name: string;
  readonly stats: SchedulerStats;
  schedule(state: SchedState): SchedOutcome;
}

export interface SchedulerOptions {
  /** Clock for `stats.timeSpent` (engine code reads no clock itself). */
  clock?: () => number;
  /** Shared statistics object (the registry passes one per name). */
  stats?: SchedulerStats;
  /** ProgMP step budget per run (default DEFAULT_STEP_BUDGET). */
  stepBudget?: number;
  /** ProgMP: run the interpreter instead of the compiled form. */
  interpret?: boolean;
  /**
   * ProgMP, with `interpret`: evaluate by the reference semantics, building every list where it stands
   * (no lazy or fused lists; slower; what the tests hold the optimised forms against).
   */
  reference?: boolean;
}

export const newStats = (): SchedulerStats => ({
  executions: 0,
  actions: 0,
  timeSpent: 0,
  budgetStops: 0,
  reruns: 0,
});
