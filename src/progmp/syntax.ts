/** The parse tree: what the source says, with positions, before names and types are resolved. */

export interface At {
  line: number;
  col: number;
}

export type BinOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

export type PExpr =
  | (At & { k: 'int'; v: number })
  | (At & { k: 'str'; v: string })
  | (At & { k: 'bool'; v: boolean })
  | (At & { k: 'null' })
  | (At & { k: 'name'; name: string })
  | (At & { k: 'bin'; op: BinOp; l: PExpr; r: PExpr })
  | (At & { k: 'not'; e: PExpr })
  /** `obj.NAME`, `obj.NAME()`, `obj.NAME(arg)` or `obj.NAME(param => arg)`. */
  | (At & {
      k: 'member';
      obj: PExpr;
      name: string;
      call: boolean;
      arg: PExpr | null;
      param: (At & { name: string }) | null;
    })
  /** `obj.PUSH(arg)` / `obj.SET_USER(arg)`: statements, parsed where a member may stand. */
  | (At & { k: 'push' | 'setuser'; obj: PExpr; arg: PExpr });

export type PStmt =
  /** Positioned at the variable name; `kw` is where its VAR keyword is. */
  | (At & { k: 'var'; name: string; init: PExpr; kw: At })
  | (At & { k: 'set'; reg: PExpr; value: PExpr })
  | (At & { k: 'if'; cond: PExpr; then: PStmt[]; else: PStmt[] | null })
  | (At & { k: 'foreach'; name: string; list: PExpr; body: PStmt[] })
  | (At & { k: 'drop'; e: PExpr })
  | (At & { k: 'print'; fmt: PExpr; value: PExpr | null })
  | (At & { k: 'return' })
  | (At & { k: 'void'; e: PExpr | null })
  | (At & { k: 'expr'; e: PExpr })
  | (At & { k: 'define'; regs: (At & { reg: string; name: string })[] });

export interface PProgram {
  name: string | null;
  body: PStmt[];
}

/** Where an expression starts (its leftmost token), for errors about the whole expression. */
export function start(e: PExpr): At {
  switch (e.k) {
    case 'member':
    case 'push':
    case 'setuser':
      return start(e.obj);
    case 'bin':
      return start(e.l);
    default:
      return e;
  }
}
