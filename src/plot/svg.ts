/**
 * Writing SVG text with deterministic bytes: numbers printed with at most two decimals and no "-0", attributes
 * in the order given, text escaped for XML. The same drawing calls give the same file on every run and machine.
 */

/** A coordinate or length: rounded to 0.01, trailing zeros dropped, never "-0". */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot draw at ${x}: coordinates must be finite`);
  const r = Math.round(x * 100) / 100;
  return r === 0 ? '0' : String(r);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Text safe inside an element or a double-quoted attribute. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ESCAPES[c]!);
}

export type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs): string {
  let out = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined) continue;
    out += ` ${k}="${typeof v === 'number' ? num(v) : esc(v)}"`;
  }
  return out;
}

/** An SVG document built element by element, one line each. */
export class Svg {
  private readonly lines: string[] = [];
  private depth = 1;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  /** An empty element such as <line .../>. */
  el(tag: string, a: Attrs): void {
    this.lines.push(`${'  '.repeat(this.depth)}<${tag}${attrs(a)}/>`);
  }

  /** A <text> element. */
  text(x: number, y: number, content: string, a: Attrs = {}): void {
    this.lines.push(`${'  '.repeat(this.depth)}<text${attrs({ x, y, ...a })}>${esc(content)}</text>`);
  }

  /** A group whose children `body` draws. */
  group(a: Attrs, body: () => void): void {
    this.lines.push(`${'  '.repeat(this.depth)}<g${attrs(a)}>`);
    this.depth++;
    body();
    this.depth--;
    this.lines.push(`${'  '.repeat(this.depth)}</g>`);
  }

  /** A rectangular clip path that elements refer to as url(#id). */
  clipRect(id: string, x: number, y: number, width: number, height: number): void {
    this.lines.push(
      `${'  '.repeat(this.depth)}<clipPath${attrs({ id })}><rect${attrs({ x, y, width, height })}/></clipPath>`,
    );
  }

  /** A polyline through the points (at least two). */
  polyline(points: readonly (readonly [number, number])[], a: Attrs): void {
    this.el('polyline', { points: points.map(([x, y]) => `${num(x)},${num(y)}`).join(' '), ...a });
  }

  toString(): string {
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${num(this.width)}" height="${num(this.height)}" viewBox="0 0 ${num(this.width)} ${num(this.height)}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="12">`,
      ...this.lines,
      '</svg>',
      '',
    ].join('\n');
  }
}
