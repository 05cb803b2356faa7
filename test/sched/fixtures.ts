/** Crafted scheduler states for tests: subflows, packets, and a tiny engine that applies outcomes. */
import {
  ActionKind,
  PacketQueue,
  type SchedOutcome,
  type SchedPacket,
  type SchedState,
  type SchedSubflow,
  type Scheduler,
} from '../../src/sched/types.ts';
import { Rng } from '../../src/util/rng.ts';

export function subflow(p: Partial<SchedSubflow> = {}): SchedSubflow {
  return {
    id: 1,
    rtt: 10_000 * 8,
    rttVar: 1000 * 4,
    cwnd: 10,
    ssthresh: 0x7fffffff,
    skbsInFlight: 0,
    queued: 0,
    lostSkbs: 0,
    isBackup: false,
    throttled: false,
    lossy: false,
    windowFree: 65535,
    delayIn: 0,
    delayOut: 0,
    bwOutSend: 0,
    bwOutAck: 0,
    mss: 1400,
    user: 0,
    primary: false,
    ...p,
  };
}

export function packet(seq: number, p: Partial<SchedPacket> = {}): SchedPacket {
  return { seq, length: 1400, psh: false, user: 0, queue: PacketQueue.Q, sentOn: [], stamp: 0, ...p };
}

/** A connection's scheduler-visible state plus a minimal engine: it applies actions like the real one must. */
export class FakeConn implements SchedState {
  subflows: SchedSubflow[];
  q = { packets: [] as SchedPacket[], head: 0 };
  qu = { packets: [] as SchedPacket[], head: 0 };
  rq = { packets: [] as SchedPacket[], head: 0 };
  registers = new Uint32Array(6);
  now = 0;
  sendWindow = 1 << 20;
  queuedBytes = 0;
  sendWindowBlocked = 0;
  readonly trace: string[] = [];
  readonly rng: Rng;
  /** Every action applied, as text: `push 5 -> 2`, `drop 5`, ... */
  readonly log: string[] = [];

  constructor(subflows: SchedSubflow[], seed = 1) {
    this.subflows = subflows;
    this.rng = new Rng(seed);
  }

  random(): number {
    return this.rng.u32();
  }

  print(line: string): void {
    this.trace.push(line);
  }

  /** Data sequence number of the next byte written. */
  nextSeq = 0;

  /** Appends `n` packets to Q (SEQ counts bytes). */
  write(n: number, p: Partial<SchedPacket> = {}): SchedPacket[] {
    const out: SchedPacket[] = [];
    for (let i = 0; i < n; i++) {
      const x = packet(this.nextSeq, p);
      this.nextSeq += x.length;
      out.push(x);
    }
    this.q.packets.push(...out);
    this.queuedBytes += out.reduce((a, x) => a + x.length, 0);
    return out;
  }

  /** Carries out an outcome's actions the way the engine must (see src/sched/types.ts). */
  apply(out: SchedOutcome): void {
    for (let i = 0; i < out.count; i++) {
      const a = out.actions[i]!;
      const p = a.packet;
      switch (a.kind) {
        case ActionKind.PUSH_NEW:
        case ActionKind.DROP_Q:
          remove(this.q.packets, p);
          this.queuedBytes -= p.length;
          p.queue = PacketQueue.QU;
          this.qu.packets.push(p);
          break;
        case ActionKind.PUSH_REINJECT:
        case ActionKind.DROP_RQ:
          remove(this.rq.packets, p);
          break;
      }
      if (a.subflow !== null) {
        p.sentOn.push(a.subflow);
        a.subflow.queued++;
        this.log.push(`${['push', 'reinject', 'redundant'][a.kind]} ${p.seq} -> ${a.subflow.id}`);
      } else this.log.push(`${a.kind === ActionKind.DROP_Q ? 'drop' : 'drop-rq'} ${p.seq}`);
    }
  }

  /** One engine opportunity: schedule, apply, re-run while asked. Returns the number of runs. */
  send(s: Scheduler): number {
    let runs = 0;
    for (;;) {
      const out = s.schedule(this);
      runs++;
      this.apply(out);
      if (!out.rerun) return runs;
    }
  }
}

function remove(arr: SchedPacket[], p: SchedPacket): void {
  const i = arr.indexOf(p);
  if (i >= 0) arr.splice(i, 1);
}

/** Actions of an outcome as text, e.g. ['push 0 -> 1']. */
export function actions(out: SchedOutcome): string[] {
  const names = ['push', 'reinject', 'redundant', 'drop', 'drop-rq'];
  const r: string[] = [];
  for (let i = 0; i < out.count; i++) {
    const a = out.actions[i]!;
    r.push(
      a.subflow === null
        ? `${names[a.kind]} ${a.packet.seq}`
        : `${names[a.kind]} ${a.packet.seq} -> ${a.subflow.id}`,
    );
  }
  return r;
}
