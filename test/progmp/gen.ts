/** Random scheduler states and random well-typed ProgMP programs, for the differential test. */
import { PacketQueue, type SchedPacket, type SchedSubflow } from '../../src/sched/types.ts';
import type { Rng } from '../../src/util/rng.ts';
import { FakeConn, packet, subflow } from '../sched/fixtures.ts';

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const u32ish = (rng: Rng): number =>
  rng.chance(0.2)
    ? pick(rng, [0, 1, 4294967295, 4294967294, 2147483648])
    : rng.int(rng.chance(0.5) ? 10 : 200_000);

/** A random connection state; the same seed always builds the same state. */
export function randomState(seed: number, rng: Rng): FakeConn {
  const n = rng.int(6);
  const sbfs: SchedSubflow[] = [];
  for (let i = 0; i < n; i++)
    sbfs.push(
      subflow({
        id: n - i,
        rtt: (1 + rng.int(200)) * 8000 + rng.int(8000),
        rttVar: rng.int(40_000),
        cwnd: rng.int(20),
        skbsInFlight: rng.int(15),
        queued: rng.int(4),
        lostSkbs: rng.int(3),
        isBackup: rng.chance(0.25),
        throttled: rng.chance(0.15),
        lossy: rng.chance(0.15),
        windowFree: rng.int(5000),
        delayIn: rng.int(1000),
        delayOut: rng.int(1000),
        bwOutSend: rng.int(1 << 20),
        bwOutAck: rng.int(1 << 20),
        mss: pick(rng, [536, 1400, 1460]),
        user: rng.int(3),
        primary: rng.chance(0.3),
      }),
    );
  const c = new FakeConn(sbfs, seed);
  let seq = 0;
  const mk = (queue: SchedPacket['queue']): SchedPacket => {
    const p = packet(seq, { length: 1 + rng.int(1460), psh: rng.chance(0.3), user: rng.int(4), queue });
    seq += p.length;
    for (const s of sbfs) if (queue !== PacketQueue.Q && rng.chance(0.5)) p.sentOn.push(s);
    return p;
  };
  const qu = rng.int(7);
  for (let i = 0; i < qu; i++) c.qu.packets.push(mk(PacketQueue.QU));
  for (let i = rng.int(3); i > 0 && c.qu.packets.length > 0; i--) {
    const orig = pick(rng, c.qu.packets);
    c.rq.packets.push(
      packet(orig.seq, { length: orig.length, queue: PacketQueue.RQ, sentOn: [...orig.sentOn] }),
    );
  }
  const q = rng.int(7);
  for (let i = 0; i < q; i++) c.q.packets.push(mk(PacketQueue.Q));
  c.queuedBytes = c.q.packets.reduce((a, p) => a + p.length, 0);
  for (let i = 0; i < 6; i++) c.registers[i] = rng.chance(0.5) ? rng.int(6) : u32ish(rng);
  c.now = rng.int(2 ** 40);
  return c;
}

type T = 'int' | 'bool' | 'subflow' | 'packet' | 'sbflist' | 'pktlist';

/** Generates random programs that the checker must accept. */
export class ProgramGen {
  private names = 0;
  private scopes: [string, T][][] = [];

  constructor(private readonly rng: Rng) {}

  program(): string {
    this.names = 0;
    this.scopes = [[]];
    const body = this.block(3, 1 + this.rng.int(6));
    return `SCHEDULER gen;\n${body.join('\n')}\n`;
  }

  private vars(t: T): string[] {
    return this.scopes
      .flat()
      .filter(([, ty]) => ty === t)
      .map(([n]) => n);
  }

  private fresh(t: T): string {
    const n = `v${++this.names}`;
    this.scopes[this.scopes.length - 1]!.push([n, t]);
    return n;
  }

  private block(depth: number, n: number): string[] {
    this.scopes.push([]);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.stmt(depth));
    if (this.rng.chance(0.15)) out.push('RETURN;');
    this.scopes.pop();
    return out;
  }

  private stmt(depth: number): string {
    const r = this.rng;
    const k = r.int(depth > 0 ? 11 : 8);
    switch (k) {
      case 0:
      case 1: {
        const t = pick(r, ['int', 'bool', 'subflow', 'packet', 'sbflist', 'pktlist'] as const);
        const e = this.notNull(t, 2);
        return `VAR ${this.fresh(t)} = ${e};`;
      }
      case 2:
        return `SET(R${1 + r.int(6)}, ${this.expr('int', 2)});`;
      case 3:
        return `${this.expr('subflow', 2)}.PUSH(${this.expr('packet', 2)});`;
      case 4:
        return `DROP(${this.expr('packet', 2)});`;
      case 5: {
        const t = pick(r, ['int', 'bool', 'subflow', 'packet'] as const);
        return `PRINT("v=%d", ${this.expr(t, 2)});`;
      }
      case 6:
        return `${this.expr('subflow', 1)}.SET_USER(${this.expr('int', 2)});`;
      case 7:
        return `VOID(${this.expr(pick(r, ['int', 'bool', 'packet'] as const), 2)});`;
      case 8:
      case 9: {
        const c = this.expr('bool', 2);
        const then = this.block(depth - 1, 1 + r.int(3)).join(' ');
        if (!r.chance(0.5)) return `IF (${c}) { ${then} }`;
        return `IF (${c}) { ${then} } ELSE { ${this.block(depth - 1, 1 + r.int(3)).join(' ')} }`;
      }
      default: {
        const lt = pick(r, ['sbflist', 'pktlist'] as const);
        const list = this.expr(lt, 1);
        this.scopes.push([]);
        const v = this.fresh(lt === 'sbflist' ? 'subflow' : 'packet');
        const body = this.block(depth - 1, 1 + r.int(3)).join(' ');
        this.scopes.pop();
        return `FOREACH (VAR ${v} IN ${list}) { ${body} }`;
      }
    }
  }

  private lambda(elem: T, body: T, depth: number): string {
    this.scopes.push([]);
    const v = this.fresh(elem);
    const e = this.expr(body, depth);
    this.scopes.pop();
    return `${v} => ${e}`;
  }

  /** An expression that is not the bare NULL literal (NULL may only stand right of == and !=). */
  private notNull(t: T, depth: number): string {
    const e = this.expr(t, depth);
    return e === 'NULL' ? '7' : e;
  }

  expr(t: T, depth: number): string {
    const r = this.rng;
    const leaf = depth <= 0 || r.chance(0.3);
    const vars = this.vars(t);
    if (vars.length > 0 && r.chance(0.3)) return pick(r, vars);
    const d = depth - 1;
    switch (t) {
      case 'int': {
        if (leaf)
          return pick(r, [
            String(r.int(10)),
            String(u32ish(r)),
            `R${1 + r.int(6)}`,
            'CURRENT_TIME_MS',
            'RANDOM',
            'NULL',
          ]);
        const k = r.int(6);
        if (k === 0)
          return `(${this.expr('int', d)} ${pick(r, ['+', '-', '*', '/', '%'])} ${this.expr('int', d)})`;
        if (k === 1)
          return `${this.expr('subflow', d)}.${pick(r, ['RTT', 'RTT_MS', 'RTT_US', 'RTT_VAR', 'CWND', 'SSTHRESH', 'SKBS_IN_FLIGHT', 'QUEUED', 'LOST_SKBS', 'ID', 'DELAY_IN', 'DELAY_OUT', 'BW_OUT_SEND', 'BW_OUT_ACK', 'MSS', 'USER', 'RTT_AVG'])}`;
        if (k === 2) return `${this.expr('packet', d)}.${pick(r, ['SEQ', 'LENGTH', 'USER', 'SIZE'])}`;
        if (k === 3) return `${this.expr(pick(r, ['sbflist', 'pktlist'] as const), d)}.COUNT`;
        if (k === 4) return `${this.expr('sbflist', d)}.SUM(${this.lambda('subflow', 'int', d)})`;
        return `(${this.expr('int', d)} ${pick(r, ['+', '*'])} ${this.expr('int', d)})`;
      }
      case 'bool': {
        if (leaf) return pick(r, ['TRUE', 'FALSE', `(R${1 + r.int(6)} > ${r.int(5)})`]);
        const k = r.int(9);
        if (k === 0)
          return `(${this.notNull('int', d)} ${pick(r, ['<', '<=', '>', '>=', '==', '!='])} ${this.expr('int', d)})`;
        if (k === 1) return `(${this.expr('bool', d)} ${pick(r, ['AND', 'OR'])} ${this.expr('bool', d)})`;
        if (k === 2)
          return `!${this.expr('subflow', d)}.${pick(r, ['IS_BACKUP', 'THROTTLED', 'LOSSY', 'BACKUP', 'TSQ_THROTTLED'])}`;
        if (k === 3)
          return `(${this.notNull(pick(r, ['int', 'bool', 'subflow', 'packet'] as const), d)} ${pick(r, ['==', '!='])} NULL)`;
        if (k === 4) return `${this.expr(pick(r, ['sbflist', 'pktlist'] as const), d)}.EMPTY`;
        if (k === 5) return `${this.expr('packet', d)}.SENT_ON(${this.expr('subflow', d)})`;
        if (k === 6) return `${this.expr('subflow', d)}.HAS_WINDOW_FOR(${this.expr('packet', d)})`;
        if (k === 7) return `${this.expr('packet', d)}.${pick(r, ['PSH', 'SENT_ON_ALL'])}`;
        return `!(${this.expr('bool', d)})`;
      }
      case 'subflow': {
        if (leaf) return `SUBFLOWS.GET(${r.int(4)})`;
        const k = r.int(3);
        if (k === 0) return `${this.expr('sbflist', d)}.GET(${this.expr('int', d)})`;
        return `${this.expr('sbflist', d)}.${k === 1 ? 'MIN' : 'MAX'}(${this.lambda('subflow', 'int', d)})`;
      }
      case 'packet': {
        const q = pick(r, ['Q', 'QU', 'RQ']);
        if (leaf) return pick(r, [`${q}.TOP`, `${q}.POP()`, `${q}.FIRST`]);
        const k = r.int(3);
        if (k === 0) return `${q}.POP()`;
        if (k === 1) return `${this.expr('pktlist', d)}.GET(${this.expr('int', d)})`;
        return `${this.expr('pktlist', d)}.TOP`;
      }
      case 'sbflist':
        if (leaf) return 'SUBFLOWS';
        return `${this.expr('sbflist', d)}.FILTER(${this.lambda('subflow', 'bool', d)})`;
      case 'pktlist':
        if (leaf) return pick(r, ['Q', 'QU', 'RQ']);
        return `${this.expr('pktlist', d)}.FILTER(${this.lambda('packet', 'bool', d)})`;
    }
  }
}

/**
 * Random programs shaped like schedulers, to exercise the evaluation plan (src/progmp/plan.ts): VARs that
 * filter SUBFLOWS or each other, consumed every way a list can be (EMPTY, COUNT, GET, MIN, MAX, SUM, FILTER
 * chains, FOREACH), by predicates that are stable or not (registers, USER values, queues, RANDOM, nested
 * loops), with statements in between that POP, SET, SET_USER and PUSH.
 */
export class PlanProgramGen {
  private lists: string[] = [];
  private vars = 0;

  constructor(private readonly rng: Rng) {}

  program(): string {
    const r = this.rng;
    this.lists = ['SUBFLOWS'];
    this.vars = 0;
    const out: string[] = ['SCHEDULER plan;'];
    for (let i = 1 + r.int(3); i > 0; i--) out.push(this.listVar());
    for (let i = 2 + r.int(5); i > 0; i--) out.push(this.stmt(2));
    return `${out.join('\n')}\n`;
  }

  private listVar(): string {
    const name = `l${++this.vars}`;
    const text = `VAR ${name} = ${pick(this.rng, this.lists)}${this.filters(1 + this.rng.int(2))};`;
    this.lists.push(name);
    return text;
  }

  private filters(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += `.FILTER(s${i} => ${this.pred(`s${i}`)})`;
    return s;
  }

  /** A subflow predicate: mostly stable and loop-free, sometimes not. */
  private pred(v: string): string {
    const r = this.rng;
    const k = r.int(12);
    if (k === 0) return `${v}.CWND > ${v}.SKBS_IN_FLIGHT + ${v}.QUEUED`;
    if (k === 1) return `!${v}.LOSSY AND !${v}.THROTTLED`;
    if (k === 2) return `!${v}.IS_BACKUP`;
    if (k === 3) return `${v}.RTT < ${r.int(120) * 8000}`;
    if (k === 4) return `${v}.ID != ${r.int(5)}`;
    if (k === 5) return `${v}.USER == ${r.int(3)}`;
    if (k === 6) return `${v}.ID >= R${1 + r.int(2)}`;
    if (k === 7) return `RANDOM % 3 != 0`;
    if (k === 8) return `!RQ.TOP.SENT_ON(${v})`;
    if (k === 9) return `QU.FILTER(p => p.SENT_ON(${v})).EMPTY`;
    if (k === 10) return `${v}.RTT_MS / (${v}.ID - 1) > 5 OR ${v}.LOSSY`;
    return `${v}.HAS_WINDOW_FOR(Q.TOP)`;
  }

  private key(v: string): string {
    return pick(this.rng, [
      `${v}.RTT`,
      `${v}.CWND - ${v}.SKBS_IN_FLIGHT`,
      `${v}.ID`,
      `100 / ${v}.USER`,
      'RANDOM % 7',
    ]);
  }

  /** A list expression: a list, maybe with FILTERs of its own. */
  private list(): string {
    return `${pick(this.rng, this.lists)}${this.rng.chance(0.4) ? this.filters(1) : ''}`;
  }

  private intOf(l: string): string {
    const r = this.rng;
    switch (r.int(4)) {
      case 0:
        return `${l}.COUNT`;
      case 1:
        return `${l}.SUM(t => ${this.key('t')})`;
      case 2:
        return `${l}.MIN(t => ${this.key('t')}).ID`;
      default:
        return `${l}.GET(${r.chance(0.5) ? r.int(3) : 'R1 % 3'}).RTT`;
    }
  }

  private cond(): string {
    const l = this.list();
    return pick(this.rng, [`!${l}.EMPTY`, `${l}.EMPTY`, `${this.intOf(l)} > ${this.rng.int(3)}`]);
  }

  private stmt(depth: number): string {
    const r = this.rng;
    const k = r.int(depth > 0 ? 10 : 7);
    switch (k) {
      case 0:
      case 1:
        return `${this.list()}.${r.chance(0.5) ? 'MIN' : 'MAX'}(t => ${this.key('t')}).PUSH(Q.POP());`;
      case 2:
        return `SET(R${1 + r.int(2)}, ${this.intOf(this.list())});`;
      case 3:
        return `${this.list()}.GET(${r.int(3)}).SET_USER(${r.int(3)});`;
      case 4:
        return `DROP(${pick(r, ['Q.POP()', 'RQ.POP()'])});`;
      case 5:
        return `VOID(${this.intOf(this.list())});`;
      case 6:
        // A new list VAR only at the top level, where later statements can see it.
        return depth === 2 ? this.listVar() : `VOID(${this.cond()});`;
      case 7:
      case 8:
        return `IF (${this.cond()}) { ${this.stmt(depth - 1)} } ELSE { ${this.stmt(depth - 1)} }`;
      default:
        return `FOREACH (VAR f IN ${this.list()}) { VAR p = QU.FILTER(p => !p.SENT_ON(f)).TOP; IF (p != NULL) { f.PUSH(p); } ${this.stmt(depth - 1)} }`;
    }
  }
}
