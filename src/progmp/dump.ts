/**
 * Pretty-prints a checked program in normal form: canonical member names (aliases resolved), registers as
 * R1..R6 (DEFINE names resolved), one VAR per statement, minimal parentheses, two-space indentation. The
 * text parses and checks back to the same program.
 */
import { Op, type Program, QUEUE_NAMES, type S, type X } from './ir.ts';
import { PKT_PROP_NAMES, SBF_PROP_NAMES } from './members.ts';

const BINARY: Partial<Record<Op, [string, number]>> = {
  [Op.Or]: ['OR', 0],
  [Op.And]: ['AND', 1],
  [Op.Eq]: ['==', 2],
  [Op.Ne]: ['!=', 2],
  [Op.Lt]: ['<', 2],
  [Op.Le]: ['<=', 2],
  [Op.Gt]: ['>', 2],
  [Op.Ge]: ['>=', 2],
  [Op.Add]: ['+', 3],
  [Op.Sub]: ['-', 3],
  [Op.Mul]: ['*', 4],
  [Op.Div]: ['/', 4],
  [Op.Mod]: ['%', 4],
};
const POSTFIX = 6;

const quote = (s: string): string =>
  `"${s.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}"`;

export function dump(p: Program): string {
  const lines: string[] = [];
  if (p.name !== null) lines.push(`SCHEDULER ${p.name};`);
  block(p.body, '', lines);
  return `${lines.join('\n')}\n`;
}

function block(body: S[], indent: string, out: string[]): void {
  for (const s of body) stmt(s, indent, out);
}

function stmt(s: S, ind: string, out: string[]): void {
  switch (s.op) {
    case Op.Var:
      out.push(`${ind}VAR ${s.s} = ${expr(s.a!)};`);
      return;
    case Op.Set:
      out.push(`${ind}SET(R${s.n + 1}, ${expr(s.a!)});`);
      return;
    case Op.If: {
      out.push(`${ind}IF (${expr(s.a!)}) {`);
      let cur: S = s;
      for (;;) {
        block(cur.body!, `${ind}  `, out);
        const alt = cur.alt;
        if (alt === null) break;
        if (alt.length === 1 && alt[0]!.op === Op.If) {
          cur = alt[0]!;
          out.push(`${ind}} ELSE IF (${expr(cur.a!)}) {`);
          continue;
        }
        out.push(`${ind}} ELSE {`);
        block(alt, `${ind}  `, out);
        break;
      }
      out.push(`${ind}}`);
      return;
    }
    case Op.Foreach:
      out.push(`${ind}FOREACH (VAR ${s.s} IN ${expr(s.a!)}) {`);
      block(s.body!, `${ind}  `, out);
      out.push(`${ind}}`);
      return;
    case Op.Drop:
      out.push(`${ind}DROP(${expr(s.a!)});`);
      return;
    case Op.Print:
      out.push(`${ind}PRINT(${expr(s.a!)}${s.b === null ? '' : `, ${expr(s.b)}`});`);
      return;
    case Op.Return:
      out.push(`${ind}RETURN;`);
      return;
    case Op.Void:
      out.push(`${ind}VOID(${s.a === null ? '' : expr(s.a)});`);
      return;
    case Op.Push:
      out.push(`${ind}${expr(s.a!, POSTFIX)}.PUSH(${expr(s.b!)});`);
      return;
    case Op.SetUser:
      out.push(`${ind}${expr(s.a!, POSTFIX)}.SET_USER(${expr(s.b!)});`);
      return;
  }
}

/** Source text of `x`, parenthesised when its precedence is below `min`. */
function expr(x: X, min = 0): string {
  const bin = BINARY[x.op];
  if (bin !== undefined) {
    const [op, prec] = bin;
    const text = `${expr(x.a!, prec)} ${op} ${expr(x.b!, prec + 1)}`;
    return prec < min ? `(${text})` : text;
  }
  if (x.op === Op.IsNull || x.op === Op.NotNull) {
    const text = `${expr(x.a!, 2)} ${x.op === Op.IsNull ? '==' : '!='} NULL`;
    return min > 2 ? `(${text})` : text;
  }
  if (x.op === Op.Not) {
    const text = `!${expr(x.a!, POSTFIX)}`;
    return min > 5 ? `(${text})` : text;
  }
  const recv = () => expr(x.a!, POSTFIX);
  const lambda = (name: string) => `${recv()}.${name}(${x.s} => ${expr(x.b!)})`;
  switch (x.op) {
    case Op.Int:
      return String(x.n);
    case Op.Str:
      return quote(x.s);
    case Op.Bool:
      return x.n === 1 ? 'TRUE' : 'FALSE';
    case Op.Null:
      return 'NULL';
    case Op.Local:
      return x.s;
    case Op.Reg:
      return `R${x.n + 1}`;
    case Op.Queue:
      return QUEUE_NAMES[x.n]!;
    case Op.Subflows:
      return 'SUBFLOWS';
    case Op.Now:
      return 'CURRENT_TIME_MS';
    case Op.Random:
      return 'RANDOM';
    case Op.SbfProp:
      return `${recv()}.${SBF_PROP_NAMES[x.n]}`;
    case Op.PktProp:
      return `${recv()}.${PKT_PROP_NAMES[x.n]}`;
    case Op.HasWindow:
      return `${recv()}.HAS_WINDOW_FOR(${expr(x.b!)})`;
    case Op.SentOn:
      return `${recv()}.SENT_ON(${expr(x.b!)})`;
    case Op.SentOnAll:
      return `${recv()}.SENT_ON_ALL`;
    case Op.Empty:
      return `${recv()}.EMPTY`;
    case Op.Count:
      return `${recv()}.COUNT`;
    case Op.Top:
      return `${recv()}.TOP`;
    case Op.Get:
      return `${recv()}.GET(${expr(x.b!)})`;
    case Op.Pop:
      return `${recv()}.POP()`;
    case Op.Filter:
      return lambda('FILTER');
    case Op.Min:
      return lambda('MIN');
    case Op.Max:
      return lambda('MAX');
    case Op.Sum:
      return lambda('SUM');
  }
  throw new Error(`progmp: cannot dump op ${x.op}`);
}
