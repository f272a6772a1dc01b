import { ExpressionError, type BinaryOp, type Expr } from './parse-expression.js';

/**
 * Types a parsed expression and resolves its names, so that nothing about a formula is left to find
 * out while events are read. The types follow numpy's promotion (NEP 50, numpy ≥ 2), because the
 * notebooks' numbers come out of numpy: float32 stays float32 against a Python literal or a run
 * constant (both "weak"), float32 with int32 or float64 becomes float64, int / int is float64.
 * Integers are one type here (every 2020 and 2025 integer branch is a small count or code; numpy
 * would wrap at 2³¹, we would not). Constant sub-expressions are folded, which is how a division by
 * zero is caught before anything runs.
 */
export type Scalar = 'bool' | 'int' | 'float32' | 'float64';

export interface ValueType {
  scalar: Scalar;
  /** A fixed-length vector (a slice of a collection, a list literal); absent for a single value. */
  length?: number;
  /** Every object of the event (x[:]): as many as it has, so only a sum, count, any or all makes it one value. */
  every?: true;
  /** A Python literal or a run constant: it takes the other operand's type. */
  weak?: boolean;
}

/** Run constants: numbers of the run, not of the event, all float64 as the notebooks' Python floats. */
export const RUN_CONSTANTS = ['xsecWeight', 'lumi', 'toGeV'] as const;
export type RunConstant = (typeof RUN_CONSTANTS)[number];

export interface BranchRef { index: number; name: string; scalar: Scalar; jagged: boolean }

/** The checked tree the compiler turns into code: every node typed, every name resolved. */
export type Checked = { type: ValueType } & (
  | { op: 'const'; value: number | boolean }
  | { op: 'list'; values: number[] }
  | { op: 'run'; name: RunConstant }
  | { op: 'scalar'; branch: BranchRef }
  | { op: 'element'; branch: BranchRef; start: number }
  | { op: 'count'; branch: BranchRef }
  | { op: 'not' | 'negate' | 'abs'; arg: Checked }
  | { op: 'binary'; bop: BinaryOp; left: Checked; right: Checked }
  | { op: 'sum' | 'countTrue' | 'any' | 'all'; arg: Checked }
  | { op: 'mass'; args: [Checked, Checked, Checked, Checked] }
  /** core/analysis/z-candidates.ts: args are pt, eta, phi, E, charge, type of the four leptons. */
  | { op: 'zmass'; which: 1 | 2; args: Checked[] }
  | { op: 'variable'; index: number; value: Checked }
);

/** The nodes a node is made of. */
export function children(c: Checked): Checked[] {
  switch (c.op) {
    case 'not': case 'negate': case 'abs': case 'sum': case 'countTrue': case 'any': case 'all': return [c.arg];
    case 'binary': return [c.left, c.right];
    case 'mass': case 'zmass': return c.args;
    case 'variable': return [c.value];
    default: return [];
  }
}

export interface Scope {
  branches: ReadonlyMap<string, BranchRef>;
  variables: ReadonlyMap<string, Checked>;
  runConstants: ReadonlySet<RunConstant>;
}

const FUNCTIONS: Record<string, string> = {
  len: 'len(collection): the number of objects of a collection in the event',
  abs: 'abs(x)',
  sum: 'sum(v): the sum of a slice, e.g. sum(lep_charge[0:4]), or of every object, sum(lep_charge[:])',
  count: 'count(v): how many of a boolean slice are true',
  any: 'any(v)', all: 'all(v)',
  mass: 'mass(pt, eta, phi, E): invariant mass of the summed four-vectors of four equal-length slices',
  massZ1: 'massZ1(pt, eta, phi, E, charge, type), each a slice of the four leptons ([0:4]): the mass of the opposite-charge same-flavour pair nearest the Z mass (docs/contracts.md)',
  massZ2: 'massZ2(pt, eta, phi, E, charge, type), each a slice of the four leptons ([0:4]): the mass of the other pair of massZ1\'s pairing (docs/contracts.md)',
};

export function describeType(t: ValueType): string {
  const s = t.weak && t.scalar !== 'bool' ? `${t.scalar === 'int' ? 'integer' : 'number'} literal` : t.scalar;
  return t.every ? `${s}[:]` : t.length === undefined ? s : `${s}[${t.length}]`;
}

const fail = (pos: number, message: string): never => { throw new ExpressionError(pos, message); };
const isNumeric = (t: ValueType): boolean => t.scalar !== 'bool';
const isVector = (t: ValueType): boolean => t.length !== undefined || t.every === true;

export function checkExpression(e: Expr, scope: Scope): Checked {
  switch (e.kind) {
    case 'number': return { op: 'const', value: e.value, type: { scalar: e.integer ? 'int' : 'float64', weak: true } };
    case 'bool': return { op: 'const', value: e.value, type: { scalar: 'bool', weak: true } };
    case 'list': return { op: 'list', values: e.values, type: { scalar: e.values.every(Number.isInteger) ? 'int' : 'float64', weak: true, length: e.values.length } };
    case 'name': {
      const v = scope.variables.get(e.name);
      if (v) return v;
      if ((RUN_CONSTANTS as readonly string[]).includes(e.name)) {
        if (!scope.runConstants.has(e.name as RunConstant)) fail(e.pos, `'${e.name}' is known only in the weight`);
        return { op: 'run', name: e.name as RunConstant, type: { scalar: 'float64', weak: true } };
      }
      const b = branch(e.name, e.pos, scope);
      if (b.jagged) fail(e.pos, `'${e.name}' is a collection: take one object (${e.name}[0]), a slice (${e.name}[0:4]) or len(${e.name})`);
      return { op: 'scalar', branch: b, type: { scalar: b.scalar } };
    }
    case 'index':
    case 'slice':
    case 'every': {
      const b = branch(e.name, e.pos, scope);
      if (!b.jagged) fail(e.pos, `'${e.name}' is one value per event, not a collection: it cannot be indexed`);
      if (e.kind === 'every') return { op: 'element', branch: b, start: 0, type: { scalar: b.scalar, every: true } };
      const start = e.kind === 'index' ? e.index : e.start;
      return { op: 'element', branch: b, start, type: e.kind === 'index' ? { scalar: b.scalar } : { scalar: b.scalar, length: e.stop - e.start } };
    }
    case 'not': {
      const arg = checkExpression(e.arg, scope);
      if (arg.type.scalar !== 'bool') fail(e.pos, `'!' needs a boolean, got ${describeType(arg.type)}`);
      return fold({ op: 'not', arg, type: arg.type });
    }
    case 'negate': {
      const arg = checkExpression(e.arg, scope);
      if (!isNumeric(arg.type)) fail(e.pos, `'-' needs a number, got ${describeType(arg.type)}`);
      return fold({ op: 'negate', arg, type: arg.type });
    }
    case 'binary': return binary(e.op, e.pos, checkExpression(e.left, scope), checkExpression(e.right, scope), e.right.pos);
    case 'call': return call(e, scope);
  }
}

function branch(name: string, pos: number, scope: Scope): BranchRef {
  const b = scope.branches.get(name);
  if (b) return b;
  if (name in FUNCTIONS) return fail(pos, `'${name}' is a function: ${FUNCTIONS[name]}`);
  return fail(pos, `unknown name '${name}': not a declared branch (${[...scope.branches.keys()].join(', ')}), a variable defined before it, or a run constant`);
}

function call(e: Extract<Expr, { kind: 'call' }>, scope: Scope): Checked {
  const usage = FUNCTIONS[e.fn];
  if (!usage) return fail(e.pos, `unknown function '${e.fn}' (functions: ${Object.keys(FUNCTIONS).join(', ')})`);
  const arity = e.fn === 'mass' ? 4 : e.fn === 'massZ1' || e.fn === 'massZ2' ? 6 : 1;
  if (e.args.length !== arity) fail(e.pos, `${e.fn} takes ${arity} argument${arity > 1 ? 's' : ''}: ${usage}`);
  if (e.fn === 'len') {
    const a = e.args[0]!;
    const b = a.kind === 'name' ? scope.branches.get(a.name) : undefined;
    if (!b?.jagged) return fail(a.pos, `len() takes the name of a collection branch: ${usage}`);
    return { op: 'count', branch: b, type: { scalar: 'int' } };
  }
  const args = e.args.map((a) => checkExpression(a, scope));
  const [arg] = args as [Checked];
  switch (e.fn) {
    case 'abs':
      if (!isNumeric(arg.type)) fail(e.args[0]!.pos, `abs needs a number, got ${describeType(arg.type)}`);
      return fold({ op: 'abs', arg, type: arg.type });
    case 'sum':
      if (!isVector(arg.type) || !isNumeric(arg.type)) fail(e.args[0]!.pos, `sum needs a numeric slice, got ${describeType(arg.type)}: ${usage}`);
      return { op: 'sum', arg, type: { scalar: arg.type.scalar } };
    case 'count':
    case 'any':
    case 'all':
      if (!isVector(arg.type) || arg.type.scalar !== 'bool') fail(e.args[0]!.pos, `${e.fn} needs a boolean slice, got ${describeType(arg.type)}: ${usage}`);
      return { op: e.fn === 'count' ? 'countTrue' : e.fn, arg, type: { scalar: e.fn === 'count' ? 'int' : 'bool' } };
    case 'massZ1':
    case 'massZ2':
      args.forEach((a, i) => {
        if (a.type.length !== 4 || !isNumeric(a.type) || a.type.weak) fail(e.args[i]!.pos, `${e.fn} needs six numeric slices of the four leptons, argument ${i + 1} is ${describeType(a.type)}: ${usage}`);
      });
      return { op: 'zmass', which: e.fn === 'massZ1' ? 1 : 2, args, type: { scalar: 'float64' } };
    default: {
      const length = args[0]!.type.length;
      args.forEach((a, i) => {
        if (a.type.length === undefined || a.type.length !== length || !isNumeric(a.type) || a.type.weak) {
          fail(e.args[i]!.pos, `mass needs four numeric slices of one length, argument ${i + 1} is ${describeType(a.type)}: ${usage}`);
        }
      });
      return { op: 'mass', args: args as [Checked, Checked, Checked, Checked], type: { scalar: 'float64' } };
    }
  }
}

/** The result type of a numeric operation, numpy's way (see the module comment). */
function promote(a: ValueType, b: ValueType, op: BinaryOp): Scalar {
  const divide = op === '/';
  if (a.weak && b.weak) return a.scalar === 'int' && b.scalar === 'int' && !divide ? 'int' : 'float64';
  if (a.weak || b.weak) {
    const [strong, weak] = a.weak ? [b, a] : [a, b];
    if (strong.scalar === 'int') return weak.scalar === 'int' && !divide ? 'int' : 'float64';
    return strong.scalar;
  }
  if (a.scalar === b.scalar) return a.scalar === 'int' && divide ? 'float64' : a.scalar;
  return 'float64';
}

function binary(op: BinaryOp, pos: number, left: Checked, right: Checked, rightPos: number): Checked {
  const [l, r] = [left.type, right.type];
  if (l.length !== undefined && r.length !== undefined && l.length !== r.length) {
    fail(pos, `'${op}' between slices of ${l.length} and ${r.length} objects`);
  }
  // Python would broadcast or raise by the event's count; a formula says which objects it means.
  if ((l.every || r.every) && (l.length !== undefined || r.length !== undefined)) {
    fail(pos, `'${op}' between every object (x[:]) and a fixed slice: ${describeType(l)} ${op} ${describeType(r)}`);
  }
  const length = l.length ?? r.length;
  const every = l.every === true || r.every === true;
  const weak = l.weak === true && r.weak === true;
  const shape = (scalar: Scalar): ValueType => ({ scalar, ...(length === undefined ? {} : { length }), ...(every ? { every } : {}), ...(weak ? { weak } : {}) });
  if (op === '&&' || op === '||') {
    if (l.scalar !== 'bool' || r.scalar !== 'bool') fail(pos, `'${op}' needs booleans, got ${describeType(l)} ${op} ${describeType(r)}`);
    return fold({ op: 'binary', bop: op, left, right, type: shape('bool') });
  }
  if (op === '==' || op === '!=') {
    if ((l.scalar === 'bool') !== (r.scalar === 'bool')) fail(pos, `'${op}' compares a boolean with a number: ${describeType(l)} ${op} ${describeType(r)}`);
    return fold({ op: 'binary', bop: op, left, right, type: shape('bool') });
  }
  if (!isNumeric(l) || !isNumeric(r)) fail(pos, `'${op}' needs numbers, got ${describeType(l)} ${op} ${describeType(r)}`);
  if (op === '<' || op === '<=' || op === '>' || op === '>=') return fold({ op: 'binary', bop: op, left, right, type: shape('bool') });
  if (op === '/' && right.op === 'const' && right.value === 0) fail(rightPos, `division by a constant zero`);
  if (op === '/' && right.op === 'list' && right.values.includes(0)) fail(rightPos, `division by a constant zero (a list holding 0)`);
  return fold({ op: 'binary', bop: op, left, right, type: shape(promote(l, r, op)) });
}

/** Evaluates a node whose operands are all constants, so that later checks see the value. */
function fold(c: Checked): Checked {
  const value = (x: Checked): number | boolean | undefined => (x.op === 'const' ? x.value : undefined);
  if (c.op === 'not' || c.op === 'negate' || c.op === 'abs') {
    const v = value(c.arg);
    if (v === undefined) return c;
    return { op: 'const', type: c.type, value: c.op === 'not' ? !v : c.op === 'negate' ? -Number(v) : Math.abs(Number(v)) };
  }
  if (c.op !== 'binary') return c;
  const [a, b] = [value(c.left), value(c.right)];
  if (a === undefined || b === undefined) return c;
  return { op: 'const', type: c.type, value: evaluate(c.bop, a, b) };
}

function evaluate(op: BinaryOp, a: number | boolean, b: number | boolean): number | boolean {
  const [x, y] = [Number(a), Number(b)];
  switch (op) {
    case '||': return Boolean(a) || Boolean(b);
    case '&&': return Boolean(a) && Boolean(b);
    case '==': return x === y;
    case '!=': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    case '>=': return x >= y;
    case '+': return x + y;
    case '-': return x - y;
    case '*': return x * y;
    case '/': return x / y;
  }
}
