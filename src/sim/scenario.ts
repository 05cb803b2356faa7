/**
 * The scenario file of SCENARIOS.md, parsed and validated into a fully resolved structure: every default
 * filled, every quantity in base units (bits/s, µs, bytes, fractions), every reference checked. Unknown
 * fields, bad units, impossible values and dangling references are ScenarioErrors naming the field's path.
 *
 * Defaults (chosen here, documented for scenario authors):
 * - scenario: name "scenario" (the CLI passes the file's base name), seed 1, until "60s", sample "100ms".
 * - link: `rate` is required (0 = unlimited); delay, jitter, loss, duplicate, reorder, corrupt 0; queue
 *   "1000pkt" (Linux's default txqueuelen); mtu 1500; up true; stripMptcpOptions false.
 * - flow: name "flowN" (N its index), protocol "tcp", direction "upload" (the client sends), start 0,
 *   cc "cubic" for TCP and "lia" for MPTCP, paths: the first path for TCP and every path for MPTCP,
 *   scheduler "default", pathManager "fullmesh", subflowsPerPath 1, no backup paths, no lists, no actions.
 * - every `at` (timeline, actions, stream rate changes) is simulated time since the scenario started.
 *
 * Fields added to SCENARIOS.md: a link may take `jitterDistribution` ("uniform" | "normal"), `reorderDelay`
 * (the extra delay of a reordered packet) and `directions: { up?: {...}, down?: {...} }` (fields that differ
 * in one direction; "up" is client to server); a stream workload may take `duration` (stop writing and close
 * after it). The workloads' wire behaviour is described in workload.ts.
 */
import type { Duration } from '../util/time.ts';
import {
  parseDuration,
  parseFraction,
  parseQueue,
  parseRate,
  parseSize,
  type QueueLimit,
  ScenarioError,
  show,
} from './units.ts';

export interface GilbertElliott {
  pGoodToBad: number;
  pBadToGood: number;
  lossInBad: number;
  lossInGood?: number;
}

/** One link's settings (both directions), in the link model's base units. */
export interface LinkSettings {
  rate: number;
  delay: Duration;
  jitter: Duration;
  jitterDistribution?: 'uniform' | 'normal';
  loss: number;
  lossModel?: { gilbertElliott: GilbertElliott };
  duplicate: number;
  reorder: number;
  reorderDelay?: Duration;
  corrupt: number;
  mtu: number;
  queue: QueueLimit;
  stripMptcpOptions: boolean;
  up: boolean;
  /** Fields that differ in one direction ("up" is client to server). */
  directions?: { up?: Partial<LinkDirectionSettings>; down?: Partial<LinkDirectionSettings> };
}

export type LinkDirectionSettings = Omit<LinkSettings, 'directions'>;

export interface LinkSpec {
  name: string;
  settings: LinkSettings;
}

export interface PathSpec {
  name: string;
  /** Link names in client-to-server order. */
  links: string[];
  /** The client's address on this path: 10.0.K.1 for the K-th path (from 1). */
  clientAddress: string;
}

export type TimelineEvent =
  | { at: Duration; kind: 'link'; link: string; set: Partial<LinkSettings> }
  | { at: Duration; kind: 'interface'; path: string; up: boolean };

export type Protocol = 'tcp' | 'mptcp';
export type Direction = 'upload' | 'download';
export type CcName = 'reno' | 'cubic' | 'lia' | 'olia' | 'balia';
export type PathManagerName = 'passive' | 'fullmesh' | 'ndiffports' | 'endpoints';

/** Built-in scheduler names: those of src/sched/registry.ts ('default' is minimum RTT). */
export const BUILTIN_SCHEDULERS = ['default', 'roundrobin', 'redundant', 'ppos', 'blest', 'ecf'] as const;

export type SchedulerSpec =
  | { kind: 'builtin'; name: string }
  /** A ProgMP file, relative to the scenario file; the CLI reads it into `source` (the engine never reads files). */
  | { kind: 'progmp'; file: string; source: string | null }
  | { kind: 'progmpSource'; source: string };

export type SubflowSelector = { path: string } | { local: string; remote: string };

export type FlowAction =
  | { at: Duration; call: 'setSubflowPriority'; path: string; backup: boolean }
  | { at: Duration; call: 'closeSubflow'; path: string }
  | { at: Duration; call: 'openSubflow'; path: string }
  | { at: Duration; call: 'setRegister'; register: string; value: number }
  | { at: Duration; call: 'setScheduler'; scheduler: SchedulerSpec }
  /** Added: replace the persistent active or backup list (existing subflows take the new priorities). */
  | { at: Duration; call: 'setActiveList' | 'setBackupList'; list: SubflowSelector[] }
  /** Added: enter primary-path-only mode on a path, or leave it with `path: null`. */
  | { at: Duration; call: 'setPrimaryPathOnly'; path: string | null };

export type Workload =
  /** `size` null: "forever", the sender writes until the run ends. */
  | { kind: 'bulk'; size: number | null }
  /** `count` requests on one connection, sizes cycled, each sent `gap` after the previous response. */
  | { kind: 'requests'; sizes: number[]; count: number; gap: Duration }
  /** `chunk` bytes every chunk/rate; `duration` null: until the run ends. Rates in bits/s. */
  | {
      kind: 'stream';
      rate: number;
      chunk: number;
      changes: { at: Duration; rate: number }[];
      duration: Duration | null;
    };

export interface FlowSpec {
  index: number;
  name: string;
  protocol: Protocol;
  paths: string[];
  direction: Direction;
  start: Duration;
  cc: CcName;
  scheduler: SchedulerSpec;
  registers: Record<string, number>;
  pathManager: PathManagerName;
  subflowsPerPath: number;
  backup: string[];
  primaryPathOnly: string | null;
  activeList: SubflowSelector[];
  backupList: SubflowSelector[];
  actions: FlowAction[];
  workload: Workload;
}

export interface Scenario {
  name: string;
  seed: number;
  until: Duration;
  sample: Duration;
  links: LinkSpec[];
  paths: PathSpec[];
  /** Sorted by time; events at the same time keep their file order. */
  timeline: TimelineEvent[];
  flows: FlowSpec[];
}

export const SERVER_ADDRESS = '10.1.0.1';
/** Flow i listens on SERVER_PORT_BASE + i at the server; its client uses CLIENT_PORT_BASE + 1 + i. */
// Not 443: tshark would dissect the payload as TLS and flag retransmissions as malformed (WIRE.md).
export const SERVER_PORT_BASE = 45000;
export const CLIENT_PORT_BASE = 40000;

/** Reads an object's fields by name and refuses the ones nobody asked for. */
class Fields {
  private readonly seen = new Set<string>();
  constructor(
    readonly obj: Record<string, unknown>,
    readonly path: string,
  ) {}

  static of(value: unknown, path: string, what = 'an object'): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new ScenarioError(path, `expected ${what}, got ${show(value)}`);
    return new Fields(value as Record<string, unknown>, path);
  }

  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  get(key: string): unknown {
    this.seen.add(key);
    return this.obj[key];
  }

  /** The field parsed by `parse`, or `fallback` when absent. */
  opt<T>(key: string, fallback: T, parse: (v: unknown, path: string) => T): T {
    const v = this.get(key);
    return v === undefined ? fallback : parse(v, this.at(key));
  }

  req<T>(key: string, parse: (v: unknown, path: string) => T, example: string): T {
    const v = this.get(key);
    if (v === undefined) throw new ScenarioError(this.at(key), `required, e.g. ${example}`);
    return parse(v, this.at(key));
  }

  /** Throws on the first field that was never read. */
  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) {
        const known = [...this.seen].join(', ');
        throw new ScenarioError(this.at(key), `unknown field (known here: ${known})`);
      }
    }
  }
}

const str = (v: unknown, path: string): string => {
  if (typeof v !== 'string' || v === '')
    throw new ScenarioError(path, `expected a non-empty string, got ${show(v)}`);
  return v;
};

const bool = (v: unknown, path: string): boolean => {
  if (typeof v !== 'boolean') throw new ScenarioError(path, `expected true or false, got ${show(v)}`);
  return v;
};

const intIn =
  (min: number, max: number) =>
  (v: unknown, path: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new ScenarioError(path, `expected a whole number from ${min} to ${max}, got ${show(v)}`);
    return v;
  };

const probability = (v: unknown, path: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1)
    throw new ScenarioError(path, `expected a probability from 0 to 1, got ${show(v)}`);
  return v;
};

const oneOf =
  <T extends string>(choices: readonly T[]) =>
  (v: unknown, path: string): T => {
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
      throw new ScenarioError(
        path,
        `expected one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${show(v)}`,
      );
    return v as T;
  };

const array = (v: unknown, path: string): unknown[] => {
  if (!Array.isArray(v)) throw new ScenarioError(path, `expected an array, got ${show(v)}`);
  return v;
};

const NAME = /^[A-Za-z0-9_.-]+$/;
const name = (v: unknown, path: string): string => {
  const s = str(v, path);
  if (!NAME.test(s))
    throw new ScenarioError(path, `expected a name of letters, digits, "_", "-" or ".", got ${show(v)}`);
  return s;
};

const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const ipv4 = (v: unknown, path: string): string => {
  const s = str(v, path);
  if (!IPV4.test(s))
    throw new ScenarioError(path, `expected an IPv4 address like "10.0.1.1", got ${show(v)}`);
  return s;
};

const nonNegativeDuration = (v: unknown, path: string): Duration => parseDuration(v, path);
const positiveDuration = (v: unknown, path: string): Duration => {
  const d = parseDuration(v, path);
  if (d <= 0) throw new ScenarioError(path, `expected a duration above 0, got ${show(v)}`);
  return d;
};
const positiveSize = (v: unknown, path: string): number => {
  const s = parseSize(v, path);
  if (s <= 0) throw new ScenarioError(path, `expected a size above 0, got ${show(v)}`);
  return s;
};
const positiveRate = (v: unknown, path: string): number => {
  const r = parseRate(v, path);
  if (r <= 0) throw new ScenarioError(path, `expected a rate above 0, got ${show(v)}`);
  return r;
};

// IPv4 header (20) + TCP header (20) + one byte: anything smaller cannot carry data.
const MIN_MTU = 68;

function parseGilbertElliott(v: unknown, path: string): { gilbertElliott: GilbertElliott } {
  const outer = Fields.of(v, path, 'an object like { "gilbertElliott": { ... } }');
  const ge = Fields.of(outer.get('gilbertElliott'), outer.at('gilbertElliott'));
  outer.done();
  const model: GilbertElliott = {
    pGoodToBad: ge.req('pGoodToBad', probability, '0.01'),
    pBadToGood: ge.req('pBadToGood', probability, '0.3'),
    lossInBad: ge.req('lossInBad', probability, '0.5'),
  };
  if (ge.has('lossInGood')) model.lossInGood = ge.opt('lossInGood', 0, probability);
  ge.done();
  return { gilbertElliott: model };
}

/** The link fields a link declaration and a timeline `set` share; only the fields present are returned. */
function parseLinkFields(f: Fields, allowDirections = true): Partial<LinkSettings> {
  const out: Partial<LinkSettings> = {};
  if (f.has('rate')) out.rate = f.opt('rate', 0, parseRate);
  if (f.has('delay')) out.delay = f.opt('delay', 0, nonNegativeDuration);
  if (f.has('jitter')) out.jitter = f.opt('jitter', 0, nonNegativeDuration);
  if (f.has('jitterDistribution'))
    out.jitterDistribution = f.opt('jitterDistribution', 'uniform', oneOf(['uniform', 'normal'] as const));
  if (f.has('loss')) out.loss = f.opt('loss', 0, parseFraction);
  if (f.has('lossModel')) out.lossModel = f.opt('lossModel', undefined, parseGilbertElliott);
  if (f.has('duplicate')) out.duplicate = f.opt('duplicate', 0, parseFraction);
  if (f.has('reorder')) out.reorder = f.opt('reorder', 0, parseFraction);
  if (f.has('reorderDelay')) out.reorderDelay = f.opt('reorderDelay', 0, positiveDuration);
  if (f.has('corrupt')) out.corrupt = f.opt('corrupt', 0, parseFraction);
  if (f.has('mtu')) out.mtu = f.opt('mtu', 1500, intIn(MIN_MTU, 65535));
  if (f.has('queue')) out.queue = f.opt('queue', {}, parseQueue);
  if (f.has('stripMptcpOptions')) out.stripMptcpOptions = f.opt('stripMptcpOptions', false, bool);
  if (f.has('up')) out.up = f.opt('up', true, bool);
  if (allowDirections && f.has('directions')) {
    const d = Fields.of(
      f.get('directions'),
      f.at('directions'),
      'an object like { "down": { "rate": "10Mbps" } }',
    );
    const directions: NonNullable<LinkSettings['directions']> = {};
    for (const dir of ['up', 'down'] as const) {
      if (!d.has(dir)) continue;
      const df = Fields.of(d.get(dir), d.at(dir), 'an object of link fields');
      directions[dir] = parseLinkFields(df, false);
      df.done();
    }
    d.done();
    out.directions = directions;
  }
  // Mark every known field as read, so `done()` only complains about the unknown ones.
  for (const key of LINK_FIELDS) if (allowDirections || key !== 'directions') f.get(key);
  return out;
}

const LINK_FIELDS = [
  'rate',
  'delay',
  'jitter',
  'jitterDistribution',
  'loss',
  'lossModel',
  'duplicate',
  'reorder',
  'reorderDelay',
  'corrupt',
  'mtu',
  'queue',
  'stripMptcpOptions',
  'up',
  'directions',
] as const;

function parseLink(linkName: string, v: unknown, path: string): LinkSpec {
  const f = Fields.of(v, path);
  if (!f.has('rate')) throw new ScenarioError(f.at('rate'), 'required, e.g. "100Mbps" (0 = unlimited)');
  const given = parseLinkFields(f);
  f.done();
  const settings: LinkSettings = {
    rate: given.rate!,
    delay: given.delay ?? 0,
    jitter: given.jitter ?? 0,
    loss: given.loss ?? 0,
    duplicate: given.duplicate ?? 0,
    reorder: given.reorder ?? 0,
    corrupt: given.corrupt ?? 0,
    mtu: given.mtu ?? 1500,
    queue: given.queue ?? { packets: 1000 },
    stripMptcpOptions: given.stripMptcpOptions ?? false,
    up: given.up ?? true,
  };
  if (given.lossModel !== undefined) settings.lossModel = given.lossModel;
  if (given.reorderDelay !== undefined) settings.reorderDelay = given.reorderDelay;
  if (given.jitterDistribution !== undefined) settings.jitterDistribution = given.jitterDistribution;
  if (given.directions !== undefined) settings.directions = given.directions;
  return { name: linkName, settings };
}

function parseTimelineEvent(v: unknown, path: string, links: Set<string>, paths: Set<string>): TimelineEvent {
  const f = Fields.of(v, path, 'an object like { "at": "15s", "link": "wifi", "set": { "up": false } }');
  const at = f.req('at', nonNegativeDuration, '"15s"');
  if (f.has('link') === f.has('path'))
    throw new ScenarioError(path, 'expected exactly one of "link" or "path" (what the event changes)');
  if (f.has('link')) {
    const link = f.req('link', name, '"wifi"');
    if (!links.has(link)) throw new ScenarioError(f.at('link'), unknownRef('link', link, links));
    const set = Fields.of(f.get('set'), f.at('set'), 'an object of link fields like { "up": false }');
    const changes = parseLinkFields(set);
    set.done();
    f.done();
    if (Object.keys(changes).length === 0)
      throw new ScenarioError(f.at('set'), 'expected at least one link field');
    return { at, kind: 'link', link, set: changes };
  }
  const p = f.req('path', name, '"p2"');
  if (!paths.has(p)) throw new ScenarioError(f.at('path'), unknownRef('path', p, paths));
  const set = Fields.of(f.get('set'), f.at('set'), 'an object like { "interface": "down" }');
  const state = set.req('interface', oneOf(['up', 'down'] as const), '"down"');
  set.done();
  f.done();
  return { at, kind: 'interface', path: p, up: state === 'up' };
}

function unknownRef(what: string, ref: string, known: Iterable<string>): string {
  return `unknown ${what} ${show(ref)} (${what}s: ${[...known].join(', ') || 'none'})`;
}

function parseScheduler(v: unknown, path: string): SchedulerSpec {
  if (typeof v === 'string') return { kind: 'builtin', name: oneOf(BUILTIN_SCHEDULERS)(v, path) };
  const f = Fields.of(
    v,
    path,
    'a scheduler name or { "progmp": "file.progmp" } or { "progmpSource": "..." }',
  );
  if (f.has('progmp') === f.has('progmpSource'))
    throw new ScenarioError(
      path,
      'expected exactly one of "progmp" (a file) or "progmpSource" (the program text)',
    );
  const out: SchedulerSpec = f.has('progmp')
    ? { kind: 'progmp', file: f.req('progmp', str, '"minrtt.progmp"'), source: null }
    : { kind: 'progmpSource', source: f.req('progmpSource', str, '"SCHEDULER x; ..."') };
  f.done();
  return out;
}

const REGISTER = /^R[1-6]$/;
const register = (v: unknown, path: string): string => {
  if (typeof v !== 'string' || !REGISTER.test(v))
    throw new ScenarioError(path, `expected a register R1..R6, got ${show(v)}`);
  return v;
};
const registerValue = intIn(0, 0xffff_ffff);

function parseRegisters(v: unknown, path: string): Record<string, number> {
  const f = Fields.of(v, path, 'an object like { "R1": 5 }');
  const out: Record<string, number> = {};
  for (const key of Object.keys(f.obj).sort()) {
    register(key, f.at(key));
    out[key] = registerValue(f.get(key), f.at(key));
  }
  return out;
}

function parseSelector(v: unknown, path: string, flowPaths: string[]): SubflowSelector {
  const f = Fields.of(
    v,
    path,
    'an object like { "path": "p1" } or { "local": "10.0.1.1", "remote": "10.1.0.1" }',
  );
  if (f.has('path')) {
    const p = f.req('path', name, '"p1"');
    if (!flowPaths.includes(p))
      throw new ScenarioError(f.at('path'), unknownRef("flow's path", p, flowPaths));
    f.done();
    return { path: p };
  }
  const sel = { local: f.req('local', ipv4, '"10.0.1.1"'), remote: f.req('remote', ipv4, '"10.1.0.1"') };
  f.done();
  return sel;
}

function parseAction(v: unknown, path: string, flowPaths: string[]): FlowAction {
  const f = Fields.of(v, path, 'an object like { "at": "15s", "call": "closeSubflow", "path": "p1" }');
  const at = f.req('at', nonNegativeDuration, '"15s"');
  const call = f.req(
    'call',
    oneOf([
      'setSubflowPriority',
      'closeSubflow',
      'openSubflow',
      'setRegister',
      'setScheduler',
      'setActiveList',
      'setBackupList',
      'setPrimaryPathOnly',
    ] as const),
    '"closeSubflow"',
  );
  const flowPath = (): string => {
    const p = f.req('path', name, '"p1"');
    if (!flowPaths.includes(p))
      throw new ScenarioError(f.at('path'), unknownRef("flow's path", p, flowPaths));
    return p;
  };
  let action: FlowAction;
  switch (call) {
    case 'setSubflowPriority':
      action = { at, call, path: flowPath(), backup: f.req('backup', bool, 'true') };
      break;
    case 'closeSubflow':
    case 'openSubflow':
      action = { at, call, path: flowPath() };
      break;
    case 'setRegister':
      action = {
        at,
        call,
        register: f.req('register', register, '"R1"'),
        value: f.req('value', registerValue, '1'),
      };
      break;
    case 'setScheduler':
      action = { at, call, scheduler: f.req('scheduler', parseScheduler, '"roundrobin"') };
      break;
    case 'setActiveList':
    case 'setBackupList':
      action = {
        at,
        call,
        list: f.req(
          'list',
          (lv, lp) => array(lv, lp).map((x, i) => parseSelector(x, `${lp}[${i}]`, flowPaths)),
          '[{ "path": "p2" }]',
        ),
      };
      break;
    case 'setPrimaryPathOnly':
      action = { at, call, path: f.get('path') === null ? null : flowPath() };
      break;
  }
  f.done();
  return action;
}

function parseWorkload(v: unknown, path: string): Workload {
  const f = Fields.of(v, path, 'an object like { "bulk": "100MB" }');
  const kinds = ['bulk', 'requests', 'stream'].filter((k) => f.has(k));
  if (kinds.length !== 1)
    throw new ScenarioError(
      path,
      'expected exactly one of "bulk", "requests" or "stream", e.g. { "bulk": "100MB" }',
    );
  let w: Workload;
  if (kinds[0] === 'bulk') {
    const b = f.get('bulk');
    w = { kind: 'bulk', size: b === 'forever' ? null : positiveSize(b, f.at('bulk')) };
  } else if (kinds[0] === 'requests') {
    const r = Fields.of(f.get('requests'), f.at('requests'));
    const sizes = r
      .req('sizes', array, '["10KB", "1MB"]')
      .map((s, i) => positiveSize(s, `${r.at('sizes')}[${i}]`));
    if (sizes.length === 0) throw new ScenarioError(r.at('sizes'), 'expected at least one size');
    w = {
      kind: 'requests',
      sizes,
      count: r.opt('count', sizes.length, intIn(1, 10_000_000)),
      gap: r.opt('gap', 0, nonNegativeDuration),
    };
    r.done();
  } else {
    const s = Fields.of(f.get('stream'), f.at('stream'));
    const rate = s.req('rate', positiveRate, '"1MB/s"');
    const chunk = s.req('chunk', positiveSize, '"100KB"');
    const changes = s.opt('changes', [], array).map((c, i) => {
      const cf = Fields.of(c, `${s.at('changes')}[${i}]`, 'an object like { "at": "6s", "rate": "4MB/s" }');
      const change = {
        at: cf.req('at', nonNegativeDuration, '"6s"'),
        rate: cf.req('rate', positiveRate, '"4MB/s"'),
      };
      cf.done();
      return change;
    });
    changes.sort((a, b) => a.at - b.at);
    w = { kind: 'stream', rate, chunk, changes, duration: s.opt('duration', null, positiveDuration) };
    s.done();
  }
  f.done();
  return w;
}

const MPTCP_ONLY = [
  'scheduler',
  'registers',
  'pathManager',
  'subflowsPerPath',
  'backup',
  'primaryPathOnly',
  'activeList',
  'backupList',
  'actions',
] as const;

function parseFlow(v: unknown, index: number, path: string, paths: PathSpec[]): FlowSpec {
  const f = Fields.of(v, path);
  const protocol = f.opt('protocol', 'tcp' as Protocol, oneOf(['tcp', 'mptcp'] as const));
  const pathNames = paths.map((p) => p.name);
  const flowPaths = f.opt('paths', protocol === 'tcp' ? pathNames.slice(0, 1) : pathNames, (pv, pp) =>
    array(pv, pp).map((x, i) => {
      const p = name(x, `${pp}[${i}]`);
      if (!pathNames.includes(p)) throw new ScenarioError(`${pp}[${i}]`, unknownRef('path', p, pathNames));
      return p;
    }),
  );
  if (flowPaths.length === 0) throw new ScenarioError(f.at('paths'), 'expected at least one path');
  if (new Set(flowPaths).size !== flowPaths.length)
    throw new ScenarioError(f.at('paths'), 'a path is listed twice (each path gives the client one address)');
  if (protocol === 'tcp') {
    if (flowPaths.length !== 1)
      throw new ScenarioError(f.at('paths'), `a TCP flow uses exactly one path, got ${flowPaths.length}`);
    for (const key of MPTCP_ONLY)
      if (f.has(key))
        throw new ScenarioError(f.at(key), 'only MPTCP flows take this field (set "protocol": "mptcp")');
  }
  const ccChoices =
    protocol === 'tcp' ? (['reno', 'cubic'] as const) : (['reno', 'cubic', 'lia', 'olia', 'balia'] as const);
  const onFlowPath = (pv: unknown, pp: string): string => {
    const p = name(pv, pp);
    if (!flowPaths.includes(p)) throw new ScenarioError(pp, unknownRef("flow's path", p, flowPaths));
    return p;
  };
  const flow: FlowSpec = {
    index,
    name: f.opt('name', `flow${index}`, name),
    protocol,
    paths: flowPaths,
    direction: f.opt('direction', 'upload' as Direction, oneOf(['upload', 'download'] as const)),
    start: f.opt('start', 0, nonNegativeDuration),
    cc: f.opt('cc', protocol === 'tcp' ? 'cubic' : 'lia', oneOf<CcName>(ccChoices)),
    scheduler: f.opt('scheduler', { kind: 'builtin', name: 'default' }, parseScheduler),
    registers: f.opt('registers', {}, parseRegisters),
    pathManager: f.opt(
      'pathManager',
      'fullmesh' as PathManagerName,
      oneOf(['passive', 'fullmesh', 'ndiffports', 'endpoints'] as const),
    ),
    subflowsPerPath: f.opt('subflowsPerPath', 1, intIn(1, 32)),
    backup: f.opt('backup', [], (bv, bp) => array(bv, bp).map((x, i) => onFlowPath(x, `${bp}[${i}]`))),
    primaryPathOnly: f.opt('primaryPathOnly', null, onFlowPath),
    activeList: f.opt('activeList', [], (lv, lp) =>
      array(lv, lp).map((x, i) => parseSelector(x, `${lp}[${i}]`, flowPaths)),
    ),
    backupList: f.opt('backupList', [], (lv, lp) =>
      array(lv, lp).map((x, i) => parseSelector(x, `${lp}[${i}]`, flowPaths)),
    ),
    actions: f.opt('actions', [], (av, ap) =>
      array(av, ap).map((x, i) => parseAction(x, `${ap}[${i}]`, flowPaths)),
    ),
    workload: f.req('workload', parseWorkload, '{ "bulk": "100MB" }'),
  };
  flow.actions.sort((a, b) => a.at - b.at);
  f.done();
  return flow;
}

/** Parses and validates a scenario (already JSON-decoded). Throws ScenarioError naming the bad field. */
export function parseScenario(json: unknown, opts: { defaultName?: string } = {}): Scenario {
  const f = Fields.of(json, '', 'a scenario object');
  const scenarioName = f.opt('name', opts.defaultName ?? 'scenario', str);
  const seed = f.opt('seed', 1, intIn(0, 0xffff_ffff));
  const until = f.opt('until', 60_000_000, positiveDuration);
  const sample = f.opt('sample', 100_000, positiveDuration);

  const linksField = Fields.of(
    f.get('links'),
    'links',
    'an object of links like { "wifi": { "rate": "100Mbps" } }',
  );
  const links = Object.keys(linksField.obj).map((k) => {
    name(k, linksField.at(k));
    return parseLink(k, linksField.get(k), linksField.at(k));
  });
  if (links.length === 0) throw new ScenarioError('links', 'expected at least one link');
  const linkNames = new Set(links.map((l) => l.name));

  const pathsField = Fields.of(f.get('paths'), 'paths', 'an object of paths like { "p1": ["wifi", "core"] }');
  const paths = Object.keys(pathsField.obj).map((k, i): PathSpec => {
    const p = pathsField.at(k);
    name(k, p);
    const hops = array(pathsField.get(k), p).map((x, j) => {
      const l = name(x, `${p}[${j}]`);
      if (!linkNames.has(l)) throw new ScenarioError(`${p}[${j}]`, unknownRef('link', l, linkNames));
      return l;
    });
    if (hops.length === 0) throw new ScenarioError(p, 'expected at least one link');
    if (new Set(hops).size !== hops.length) throw new ScenarioError(p, 'a link appears twice on the path');
    return { name: k, links: hops, clientAddress: `10.0.${i + 1}.1` };
  });
  if (paths.length === 0) throw new ScenarioError('paths', 'expected at least one path');
  if (paths.length > 254) throw new ScenarioError('paths', `at most 254 paths, got ${paths.length}`);
  const pathNames = new Set(paths.map((p) => p.name));

  const timeline = f
    .opt('timeline', [], array)
    .map((e, i) => parseTimelineEvent(e, `timeline[${i}]`, linkNames, pathNames));
  timeline.sort((a, b) => a.at - b.at);

  const flowsRaw = f.req('flows', array, '[{ "protocol": "tcp", "workload": { "bulk": "10MB" } }]');
  if (flowsRaw.length === 0) throw new ScenarioError('flows', 'expected at least one flow');
  if (flowsRaw.length > 1000) throw new ScenarioError('flows', `at most 1000 flows, got ${flowsRaw.length}`);
  const flows = flowsRaw.map((v, i) => parseFlow(v, i, `flows[${i}]`, paths));
  const seen = new Set<string>();
  for (const fl of flows) {
    if (seen.has(fl.name))
      throw new ScenarioError(`flows[${fl.index}].name`, `duplicate flow name ${show(fl.name)}`);
    seen.add(fl.name);
  }
  f.done();
  return { name: scenarioName, seed, until, sample, links, paths, timeline, flows };
}
