/** Lexer, parser and checker: both spellings parse, and every error class names line:column and what to do. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgmpError } from '../../src/progmp/errors.ts';
import { Op } from '../../src/progmp/ir.ts';
import { lex } from '../../src/progmp/lexer.ts';
import { parse } from '../../src/progmp/parser.ts';
import { checkSource, dumpProgram } from '../../src/progmp/program.ts';

/** The first error of `src` as `line:col: message`. */
function error(src: string): string {
  try {
    checkSource(src);
  } catch (e) {
    assert.ok(e instanceof ProgmpError);
    const d = e.errors[0]!;
    return `${d.line}:${d.col}: ${d.message}`;
  }
  assert.fail(`expected an error for:\n${src}`);
}

test('lexer: tokens, comments, escapes, positions', () => {
  const t = lex('/* c */ VAR x = "a\\"b\\n"; // line\n  x.RTT >= 42 => ');
  assert.deepEqual(
    t.map((k) => `${k.kind}:${k.text}@${k.line}:${k.col}`),
    [
      'keyword:VAR@1:9',
      'ident:x@1:13',
      'punct:=@1:15',
      'string:a"b\n@1:17',
      'punct:;@1:25',
      'ident:x@2:3',
      'punct:.@2:4',
      'ident:RTT@2:5',
      'punct:>=@2:9',
      'int:42@2:12',
      'punct:=>@2:15',
      'eof:<end of program>@2:18',
    ],
  );
});

test('lexer errors', () => {
  assert.equal(error('PRINT("abc);'), '1:7: unterminated string: expected " before the end of the line');
  assert.match(error(`PRINT("${'x'.repeat(64)}");`), /^1:7: string is 64 characters long; at most 63/);
  assert.match(error(`VAR ${'a'.repeat(64)} = 1;`), /^1:5: identifier a{20}\.\.\. is longer than 63/);
  assert.equal(
    error('SET(R1, 4294967296);'),
    '1:9: integer 4294967296 does not fit in 32 bits (at most 4294967295)',
  );
  assert.equal(error('/* open'), '1:1: unterminated comment: expected */ before the end of the program');
  assert.equal(error('VAR x = 1 # 2;'), '1:11: unexpected character "#"');
  assert.match(error('PRINT("\\q");'), /unknown escape \\q/);
});

test('both spellings: the paper figures (Extensions) and the original grammar give the same program', () => {
  const original = `SCHEDULER s;
VAR a = 1;
VAR b = a * 2;
IF (R1 == b AND !SUBFLOWS.GET(0).IS_BACKUP) { SET(R4, 1); }
VAR p = Q.TOP;
IF (p != NULL) { SUBFLOWS.MIN(x => x.RTT_MS).PUSH(p); }
IF (SUBFLOWS.GET(0).THROTTLED) { DROP(Q.POP()); }`;
  const paper = `// the paper's spelling
DEFINE R1 AS target, R4 as flag;
VAR a = 1, b = a * 2;
IF (target == b AND !SUBFLOWS.GET(0).BACKUP) { SET(flag, 1); }
VAR p = Q.FIRST;
IF (p != NULL) { SUBFLOWS.MIN(x => x.RTT_AVG).PUSH(p); }
IF (SUBFLOWS.GET(0).TSQ_THROTTLED) { DROP(Q.POP()); }`;
  const a = checkSource(original);
  const b = checkSource(paper);
  assert.deepEqual(b.body, a.body);
  assert.equal(dumpProgram(paper), dumpProgram(original).replace('SCHEDULER s;\n', ''));
  assert.equal(checkSource('VAR t = TRUE; VAR f = FALSE;').body[1]!.a!.op, Op.Bool);
});

test('precedence: ! binds tighter than comparisons, * tighter than +, AND tighter than OR', () => {
  const d = dumpProgram('VAR x = (1 + 2 * 3 > 4 OR FALSE AND TRUE) == NULL; VAR y = !(1 < 2);');
  assert.equal(d, 'VAR x = (1 + 2 * 3 > 4 OR FALSE AND TRUE) == NULL;\nVAR y = !(1 < 2);\n');
  const p = parse('VAR x = !SUBFLOWS.EMPTY AND 1 + 2 * 3 == 7;');
  const init = p.body[0]!.k === 'var' ? p.body[0]!.init : null;
  assert.equal(init?.k === 'bin' && init.op, 'AND');
});

test('unknown property: suggestion by edit distance, for the right type', () => {
  assert.equal(
    error('SCHEDULER s;\nVAR x = SUBFLOWS.MIN(s => s.RTTX);'),
    '2:29: unknown property RTTX for subflow (did you mean RTT?)',
  );
  assert.equal(
    error('VAR x = Q.TOP.LENGHT;'),
    '1:15: unknown property LENGHT for packet (did you mean LENGTH?)',
  );
  assert.equal(error('VAR x = Q.CONT;'), '1:11: unknown property CONT for packet list (did you mean COUNT?)');
  assert.equal(
    error('VAR x = SUBFLOWS.FILTR(s => TRUE);'),
    '1:18: unknown property FILTR for subflow list (did you mean FILTER?)',
  );
  assert.equal(error('VAR x = Q.TOP.ZZZZZZZZ;'), '1:15: unknown property ZZZZZZZZ for packet');
  assert.equal(error('VAR x = SUBFLOWZ;'), '1:9: unknown name SUBFLOWZ (did you mean SUBFLOWS?)');
  assert.equal(error('VAR total = 1; VAR y = totl + 1;'), '1:24: unknown name totl (did you mean total?)');
});

test('type errors say what was expected', () => {
  assert.equal(error('VAR x = SUBFLOWS.FILTER(s => s.RTT);'), '1:30: FILTER expects a bool body but got int');
  assert.equal(error('VAR x = SUBFLOWS.MIN(s => s.LOSSY);'), '1:27: MIN expects an int body but got bool');
  assert.equal(error('IF (R1) { RETURN; }'), '1:5: IF condition expects a bool but got int');
  assert.equal(error('VAR x = 1 + TRUE;'), '1:13: + expects an int but got bool');
  assert.equal(
    error('VAR x = Q == SUBFLOWS;'),
    '1:11: == compares two ints (or x == NULL) but got packet list and subflow list',
  );
  assert.equal(error('VAR x = NULL == R1;'), '1:9: NULL goes on the right of ==: write x == NULL');
  assert.equal(error('Q.TOP.PUSH(Q.TOP);'), '1:1: PUSH receiver expects a subflow but got packet');
  assert.equal(error('SUBFLOWS.GET(0).PUSH(1);'), '1:22: PUSH expects a packet but got int');
  assert.equal(error('DROP(SUBFLOWS.GET(0));'), '1:6: DROP expects a packet but got subflow');
  assert.equal(error('VAR x = NULL;'), '1:9: cannot infer the type of x from NULL: give it a typed value');
  assert.equal(
    error('PRINT("x", SUBFLOWS);'),
    '1:12: PRINT cannot print a subflow list: print its COUNT or an element',
  );
  assert.equal(error('PRINT(1);'), '1:7: PRINT format expects a string but got int');
  assert.equal(
    error('FOREACH (VAR s IN 3) { RETURN; }'),
    '1:19: FOREACH expects a subflow list or a packet list but got int',
  );
  assert.equal(
    error('VAR x = SUBFLOWS.GET(0).HAS_WINDOW_FOR(1);'),
    '1:40: HAS_WINDOW_FOR expects a packet but got int',
  );
});

test('call shapes', () => {
  assert.equal(error('VAR x = Q.POP;'), '1:11: POP needs parentheses: write .POP()');
  assert.equal(
    error('VAR x = Q.COUNT();'),
    '1:11: COUNT is a property, not a call: write .COUNT without parentheses',
  );
  assert.equal(
    error('VAR x = SUBFLOWS.FILTER(TRUE);'),
    '1:18: FILTER expects a lambda: write .FILTER(x => condition)',
  );
  assert.equal(
    error('VAR x = Q.FILTER(p => TRUE).POP();'),
    '1:29: POP works on Q, QU or RQ only (a list variable or FILTER result is a snapshot)',
  );
  assert.equal(
    error('VAR x = SUBFLOWS.GET(0).PUSH(Q.TOP);'),
    '1:25: PUSH is a statement, not a value: write sbf.PUSH(...); on its own',
  );
  assert.equal(error('VAR x = 1.RTT;'), '1:11: int has no properties (found .RTT)');
});

test('registers: R7 does not exist, SET needs a register, DEFINE names', () => {
  assert.equal(error('SET(R7, 1);'), '1:5: register R7 does not exist (R1..R6)');
  assert.equal(error('VAR x = R0;'), '1:9: register R0 does not exist (R1..R6)');
  assert.equal(
    error('VAR a = 1; SET(a, 1);'),
    '1:16: SET expects a register (R1..R6 or a DEFINE name) as its first argument',
  );
  assert.equal(error('DEFINE R9 AS x;'), '1:8: register R9 does not exist (R1..R6)');
  assert.equal(
    error('IF (TRUE) { DEFINE R1 AS x; }'),
    '1:13: DEFINE belongs at the top level of the program, not inside a block',
  );
  assert.equal(checkSource('DEFINE R3 AS goal; SET(goal, goal + 1);').body[0]!.n, 2);
});

test('blocks: unreachable code after RETURN, empty block, redeclaration, shadowing', () => {
  assert.equal(
    error('IF (TRUE) {\n  RETURN;\n  SET(R1, 1);\n}'),
    '3:3: statements after RETURN are unreachable: RETURN must end its block',
  );
  assert.equal(
    error('RETURN; VAR x = 1;'),
    '1:9: statements after RETURN are unreachable: RETURN must end its block',
  );
  assert.equal(error('IF (TRUE) { }'), '1:13: empty block: a block needs at least one statement');
  assert.equal(
    error('VAR x = 1;\nVAR x = 2;'),
    '2:5: x is already declared in this block (line 1); variables are single-assignment',
  );
  assert.equal(error('VAR Q = 1;'), '1:5: cannot declare Q: the name is predefined (choose another name)');
  assert.equal(
    error('VAR x = SUBFLOWS.FILTER(R1 => TRUE);'),
    '1:25: cannot use R1 as a lambda parameter: the name is predefined',
  );
  // Inner blocks and lambdas may shadow.
  checkSource('VAR x = 1; IF (TRUE) { VAR x = TRUE; VOID(x); } VAR s = SUBFLOWS.FILTER(x => x.LOSSY);');
});

test('syntax errors name what was expected', () => {
  assert.equal(error('VAR x = ;'), '1:9: expected an expression but found ";"');
  assert.equal(error('VAR x = 1'), '1:10: expected ";" but found the end of the program');
  assert.equal(error('IF TRUE { RETURN; }'), '1:4: expected "(" after IF but found "TRUE"');
  assert.equal(
    error('R1 + 1;'),
    '1:1: expected a statement; an expression alone does nothing (use VOID(...) to evaluate one)',
  );
  assert.equal(error('ELSE { RETURN; }'), '1:1: ELSE without IF: ELSE must follow the block of an IF');
  assert.equal(
    error('VAR IF = 1;'),
    '1:5: expected a variable name after VAR but found "IF" (IF is a keyword)',
  );
  assert.equal(
    error('IF (TRUE) { RETURN;'),
    '1:20: expected "}" to close the block but found the end of the program',
  );
});

test('the checker reports every error, in source order', () => {
  try {
    checkSource('SET(R7, 1);\nVAR y = Q.TOP.SEQQ;\nIF (1) { RETURN; }');
    assert.fail('expected errors');
  } catch (e) {
    assert.ok(e instanceof ProgmpError);
    assert.deepEqual(
      e.errors.map((d) => `${d.line}:${d.col}`),
      ['1:5', '2:15', '3:5'],
    );
    assert.match(e.withFile('f.progmp').message, /^f\.progmp:1:5: register R7/);
  }
});
