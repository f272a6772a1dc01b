/**
 * The expression language of an analysis definition, text to syntax tree. A hand-written
 * precedence-climbing parser: the grammar is a dozen lines, and every node keeps the position of
 * its first character so that a later error can point at it.
 *
 *   expr    := or
 *   or      := and ('||' and)*
 *   and     := not ('&&' not)*
 *   not     := '!' not | compare
 *   compare := sum (('==' | '!=' | '<' | '<=' | '>' | '>=') sum)?
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/') unary)*
 *   unary   := '-' unary | postfix
 *   postfix := primary ('[' INT ']' | '[' INT ':' INT ']' | '[' ':' ']')?
 *   primary := NUMBER | 'true' | 'false' | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
 *            | '[' NUMBER (',' NUMBER)* ']'
 */
export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/';

export type Expr =
  | { kind: 'number'; pos: number; value: number; integer: boolean }
  | { kind: 'bool'; pos: number; value: boolean }
  | { kind: 'list'; pos: number; values: number[] }
  | { kind: 'name'; pos: number; name: string }
  | { kind: 'index'; pos: number; name: string; index: number }
  | { kind: 'slice'; pos: number; name: string; start: number; stop: number }
  | { kind: 'every'; pos: number; name: string }
  | { kind: 'call'; pos: number; fn: string; args: Expr[] }
  | { kind: 'not'; pos: number; arg: Expr }
  | { kind: 'negate'; pos: number; arg: Expr }
  | { kind: 'binary'; pos: number; op: BinaryOp; left: Expr; right: Expr };

/** A problem at a character of the expression (0-based). */
export class ExpressionError extends Error {
  constructor(readonly pos: number, message: string) {
    super(message);
  }
}

interface Token { kind: 'number' | 'name' | 'op' | 'end'; text: string; pos: number }

const OPERATORS = ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '!', '(', ')', '[', ']', ',', ':'];
const NUMBER = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const rest = text.slice(pos);
    const space = /^\s+/.exec(rest);
    if (space) { pos += space[0].length; continue; }
    const m = NUMBER.exec(rest) ?? NAME.exec(rest);
    if (m) {
      tokens.push({ kind: /^[\d.]/.test(m[0]) ? 'number' : 'name', text: m[0], pos });
      pos += m[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) throw new ExpressionError(pos, `unexpected character '${rest[0]}'`);
    tokens.push({ kind: 'op', text: op, pos });
    pos += op.length;
  }
  tokens.push({ kind: 'end', text: 'the end', pos });
  return tokens;
}

const LEVELS: BinaryOp[][] = [['||'], ['&&'], ['==', '!=', '<', '<=', '>', '>='], ['+', '-'], ['*', '/']];
const NOT_LEVEL = 2;
const COMPARE_LEVEL = 2;

export function parseExpression(text: string): Expr {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const isOp = (op: string): boolean => peek().kind === 'op' && peek().text === op;
  const expect = (op: string): Token => {
    if (!isOp(op)) throw new ExpressionError(peek().pos, `expected '${op}', found '${peek().text}'`);
    return tokens[at++]!;
  };
  const integer = (): number => {
    const t = peek();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) throw new ExpressionError(t.pos, `expected a whole number, found '${t.text}'`);
    at++;
    return Number(t.text);
  };
  const number = (): number => {
    const negative = isOp('-') ? (at++, true) : false;
    const t = peek();
    if (t.kind !== 'number') throw new ExpressionError(t.pos, `expected a number, found '${t.text}'`);
    at++;
    return negative ? -Number(t.text) : Number(t.text);
  };

  const level = (n: number): Expr => {
    if (n === NOT_LEVEL && isOp('!')) {
      const pos = tokens[at++]!.pos;
      return { kind: 'not', pos, arg: level(NOT_LEVEL) };
    }
    if (n === LEVELS.length) return unary();
    let left = level(n + 1);
    const ops = LEVELS[n]!;
    while (peek().kind === 'op' && (ops as string[]).includes(peek().text)) {
      const op = tokens[at++]!.text as BinaryOp;
      const right = level(n + 1);
      left = { kind: 'binary', pos: left.pos, op, left, right };
      // a < b < c means nothing in this language (in Python it is a chain): say so rather than guess.
      if (n === COMPARE_LEVEL && peek().kind === 'op' && (ops as string[]).includes(peek().text)) {
        throw new ExpressionError(peek().pos, `comparisons do not chain: write (a ${op} b) && (b ${peek().text} c)`);
      }
    }
    return left;
  };

  const unary = (): Expr => {
    if (isOp('-')) {
      const pos = tokens[at++]!.pos;
      return { kind: 'negate', pos, arg: unary() };
    }
    return primary();
  };

  const primary = (): Expr => {
    const t = peek();
    if (t.kind === 'number') {
      at++;
      return { kind: 'number', pos: t.pos, value: Number(t.text), integer: /^\d+$/.test(t.text) };
    }
    if (t.kind === 'name') {
      at++;
      if (t.text === 'true' || t.text === 'false') return { kind: 'bool', pos: t.pos, value: t.text === 'true' };
      if (isOp('(')) {
        at++;
        const args = [level(0)];
        while (isOp(',')) { at++; args.push(level(0)); }
        expect(')');
        return { kind: 'call', pos: t.pos, fn: t.text, args };
      }
      if (isOp('[')) {
        at++;
        if (isOp(':')) {
          at++;
          expect(']');
          return { kind: 'every', pos: t.pos, name: t.text };
        }
        const start = integer();
        if (isOp(':')) {
          at++;
          const stop = integer();
          expect(']');
          if (stop <= start) throw new ExpressionError(t.pos, `slice ${t.text}[${start}:${stop}] is empty`);
          return { kind: 'slice', pos: t.pos, name: t.text, start, stop };
        }
        expect(']');
        return { kind: 'index', pos: t.pos, name: t.text, index: start };
      }
      return { kind: 'name', pos: t.pos, name: t.text };
    }
    if (isOp('(')) {
      at++;
      const inner = level(0);
      expect(')');
      return inner;
    }
    if (isOp('[')) {
      at++;
      const values = [number()];
      while (isOp(',')) { at++; values.push(number()); }
      expect(']');
      return { kind: 'list', pos: t.pos, values };
    }
    throw new ExpressionError(t.pos, `expected a number, a name or '(', found '${t.text}'`);
  };

  const e = level(0);
  if (peek().kind !== 'end') throw new ExpressionError(peek().pos, `unexpected '${peek().text}' after a complete expression`);
  return e;
}
