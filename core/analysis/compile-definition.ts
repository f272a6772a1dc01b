import type { Column } from '../root/columns.js';
import type { CheckedDefinition } from './check-definition.js';
import { children, RUN_CONSTANTS, type BranchRef, type Checked, type RunConstant } from './check-expression.js';
import { massOf } from './four-vectors.js';
import { zCandidateMass } from './z-candidates.js';

/**
 * A checked definition as one function over a window of columns: the cuts, the weight and every
 * histogram's fill in a single loop over entries, written out as JavaScript and compiled by V8.
 *
 * Why generated source rather than a tree of closures: a closure per node costs a call per node per
 * event, and the loop must run at the hand-written loop's speed (docs/performance.md). Why this is
 * safe: the source is built from the *checked* tree only. No text of the definition reaches it:
 * branches become column numbers, numbers are printed by String() from finite doubles, operators
 * come from a fixed table, and cut, variable and branch names stay out. A definition can make the
 * code slower or wrong for its physics, never make it do something other than arithmetic.
 */
export interface Accumulators {
  /** Events passing each cut and all before it. */
  cutflow: number[];
  histograms: { bin: (x: number) => number; sumw: number[]; sumw2: number[]; entries: number[] }[];
}

export type RunValues = Record<RunConstant, number>;

export interface CompiledAnalysis {
  /** The branches the loop reads, in the order `run` wants their columns. */
  reads: BranchRef[];
  run(columns: readonly Column[], start: number, stop: number, acc: Accumulators, k: RunValues): void;
}

/** The branches a chunk reads: those its cuts and histograms name, and for simulation its weight's. */
export function branchesRead(def: CheckedDefinition, simulated: boolean): BranchRef[] {
  const used = new Set<number>();
  const visit = (c: Checked): void => {
    if ('branch' in c) used.add(c.branch.index);
    children(c).forEach(visit);
  };
  def.cuts.forEach((c) => visit(c.test));
  def.histograms.forEach((h) => visit(h.variable));
  if (simulated) visit(def.weight);
  return def.branches.filter((b) => used.has(b.index));
}

export function compileDefinition(def: CheckedDefinition, simulated: boolean): CompiledAnalysis {
  const reads = branchesRead(def, simulated);
  const slot = new Map(reads.map((b, i) => [b.index, i]));

  const lines: string[] = ['"use strict";', 'return function run(c, start, stop, acc, k) {', 'const F = Math.fround, abs = Math.abs;'];
  for (const r of RUN_CONSTANTS) lines.push(`const r_${r} = k.${r}, rf_${r} = F(k.${r});`);
  lines.push('const cut = acc.cutflow;');
  def.histograms.forEach((_, j) => lines.push(`const b${j} = acc.histograms[${j}].bin, w${j} = acc.histograms[${j}].sumw, q${j} = acc.histograms[${j}].sumw2, n${j} = acc.histograms[${j}].entries;`));
  reads.forEach((b, i) => lines.push(`const v${i} = c[${i}].values, s${i} = c[${i}].entryStart${b.jagged ? `, o${i} = c[${i}].offsets` : ''};`));
  lines.push('for (let e = start; e < stop; e++) {');
  const code = new Code(slot, lines);
  def.cuts.forEach((c, i) => lines.push(`if (!(${code.guarded(c.test)})) continue;`, `cut[${i}]++;`));
  lines.push(`const w = ${simulated ? code.guarded(def.weight, 'NaN') : '1'};`);
  def.histograms.forEach((h, j) => {
    const x = code.guarded(h.variable, 'NaN');
    lines.push(`{ const i = b${j}(${x}); if (i >= 0) { w${j}[i] += w; q${j}[i] += w * w; n${j}[i] += 1; } }`);
  });
  lines.push('}', '};');
  lines.splice(1, 0, ...[...code.masses].map((n) => `const mass${n} = massOf(${n}), mv${n} = new Float64Array(${4 * n});`));
  // Source generated from the checked tree only (see the module comment), never from the definition's text.
  const run = new Function('massOf', 'Z', lines.join('\n'))(massOf, zCandidateMass) as CompiledAnalysis['run'];
  return { reads, run };
}

/**
 * JavaScript for checked nodes, lane by lane (a slice of n objects is n lanes). A variable becomes a
 * `const` of the loop body, written just before the first statement that uses it, so that it is
 * computed once per event and only for events that get that far; so does a jagged branch's place
 * in the event (its first value and count). Every object (x[:]) is one lane in terms of `j`, the
 * object, which a sum, count, any or all runs over in a loop written, the same way, just before the
 * statement that uses it.
 */
class Code {
  private readonly written = new Set<number>();
  private readonly placed = new Set<number>();
  /** The lane counts mass() is called with: the loop gets a mass function for each (four-vectors.ts). */
  readonly masses = new Set<number>();
  private reductions = 0;

  constructor(private readonly slot: ReadonlyMap<number, number>, private readonly lines: string[]) {}

  /** The expression behind the tests that the event has the objects it indexes; `otherwise` when not (a cut fails). */
  guarded(c: Checked, otherwise = 'false'): string {
    this.writePlaces(c);
    this.writeVariables(c);
    const tests = this.needs(c);
    const body = this.one(c);
    if (!tests) return body;
    return otherwise === 'false' ? `${tests} && ${body}` : `(${tests} ? ${body} : ${otherwise})`;
  }

  /**
   * `m3 >= 4 && …`: the event has every object `c` indexes, and the collections `c` takes every object
   * of hold as many (awkward would raise on two lengths); '' when it needs nothing.
   */
  private needs(c: Checked): string {
    const need = new Map<number, number>();
    const every = new Set<number>();
    const visit = (x: Checked): void => {
      if (x.op === 'element' && x.type.every) every.add(this.slot.get(x.branch.index)!);
      else if (x.op === 'element') need.set(x.branch.index, Math.max(need.get(x.branch.index) ?? 0, x.start + (x.type.length ?? 1)));
      children(x).forEach(visit);
    };
    visit(c);
    const [first, ...others] = [...every];
    return [...[...need].map(([b, n]) => `m${this.slot.get(b)} >= ${n}`), ...others.map((o) => `m${o} === m${first}`)].join(' && ');
  }

  /** A sum, count, any or all over every object: a loop over `j`, written before the statement that uses its result. */
  private reduceEvery(c: Extract<Checked, { op: 'sum' | 'countTrue' | 'any' | 'all' }>): string {
    const slots = new Set<number>();
    const visit = (x: Checked): void => {
      if (x.op === 'element' && x.type.every) slots.add(this.slot.get(x.branch.index)!);
      children(x).forEach(visit);
    };
    visit(c.arg);
    const [item] = this.lanes(c.arg);
    const r = `r${this.reductions++}`;
    const step = {
      sum: c.type.scalar === 'float32' ? `${r} = F(${r} + ${item});` : `${r} += ${item};`,
      countTrue: `if (${item}) ${r}++;`,
      any: `if (${item}) { ${r} = true; break; }`,
      all: `if (!(${item})) { ${r} = false; break; }`,
    }[c.op];
    const start = c.op === 'any' ? 'false' : c.op === 'all' ? 'true' : '0';
    this.lines.push(`let ${r} = ${start};`, `for (let j = 0, n = Math.min(${[...slots].map((s) => `m${s}`).join(', ')}); j < n; j++) { ${step} }`);
    return r;
  }

  /** `f3` (the event's first value in branch slot 3) and `m3` (its count) for each jagged branch `c` reads, once per event. */
  private writePlaces(c: Checked): void {
    if (c.op === 'element' || c.op === 'count') {
      const i = this.slot.get(c.branch.index)!;
      if (!this.placed.has(i)) {
        this.placed.add(i);
        this.lines.push(`const i${i} = e - s${i}, f${i} = o${i}[i${i}], m${i} = o${i}[i${i} + 1] - f${i};`);
      }
    }
    children(c).forEach((x) => this.writePlaces(x));
  }

  /** The variables `c` uses, dependencies first, as lane constants (NaN or false where an event lacks an object they index). */
  private writeVariables(c: Checked): void {
    children(c).forEach((x) => this.writeVariables(x));
    if (c.op !== 'variable' || this.written.has(c.index)) return;
    this.written.add(c.index);
    const tests = this.needs(c.value);
    const missing = c.type.scalar === 'bool' ? 'false' : 'NaN';
    this.lanes(c.value).forEach((l, k) => this.lines.push(`const x${c.index}_${k} = ${tests ? `${tests} ? ${l} : ${missing}` : l};`));
  }

  private one(c: Checked): string {
    return this.lanes(c)[0]!;
  }

  /** One expression per lane; a single value is one lane, broadcast by the caller. */
  private lanes(c: Checked): string[] {
    const n = c.type.length ?? 1;
    const each = (f: (k: number) => string): string[] => Array.from({ length: n }, (_, k) => f(k));
    if ((c.op === 'sum' || c.op === 'countTrue' || c.op === 'any' || c.op === 'all') && c.arg.type.every) return [this.reduceEvery(c)];
    switch (c.op) {
      case 'const': return [literal(c.value)];
      case 'list': return c.values.map(literal);
      case 'run': return [`r_${c.name}`];
      case 'scalar': return [this.read(c.branch, `e - s${this.slot.get(c.branch.index)}`)];
      case 'element':
        if (c.type.every) return [this.read(c.branch, `f${this.slot.get(c.branch.index)} + j`)];
        return each((k) => this.read(c.branch, `f${this.slot.get(c.branch.index)} + ${c.start + k}`));
      case 'count': return [`m${this.slot.get(c.branch.index)}`];
      case 'variable': return each((k) => `x${c.index}_${k}`);
      case 'not': return this.lanes(c.arg).map((a) => `!${a}`);
      case 'negate': return this.lanes(c.arg).map((a) => `(-${a})`);
      case 'abs': return this.lanes(c.arg).map((a) => `abs(${a})`);
      case 'sum': {
        const f32 = c.type.scalar === 'float32';
        return [this.lanes(c.arg).reduce((acc, a) => (f32 ? `F(${acc} + ${a})` : `(${acc} + ${a})`))];
      }
      case 'countTrue': return [`(${this.lanes(c.arg).map((a) => `(${a} ? 1 : 0)`).join(' + ')})`];
      case 'any': return [`(${this.lanes(c.arg).join(' || ')})`];
      case 'all': return [`(${this.lanes(c.arg).join(' && ')})`];
      case 'mass': {
        const lanes = c.args.map((a) => this.lanes(a));
        const n = lanes[0]!.length;
        this.masses.add(n);
        return [`(${lanes.flat().map((l, i) => `mv${n}[${i}] = ${l}`).join(', ')}, mass${n}(mv${n}))`];
      }
      case 'zmass': return [`Z(${c.which}, r_toGeV, ${c.args.map((a) => `[${this.lanes(a).join(', ')}]`).join(', ')})`];
      case 'binary': {
        // numpy casts a weak operand to float32 before a float32 operation; comparisons too.
        const compare = !['+', '-', '*', '/'].includes(c.bop);
        const f32 = compare ? [c.left, c.right].some((x) => x.type.scalar === 'float32' && !x.type.weak) : c.type.scalar === 'float32';
        const operand = (x: Checked): string[] => (f32 && x.type.weak ? this.asFloat32(x) : this.lanes(x));
        const [l, r] = [operand(c.left), operand(c.right)];
        const op = c.bop === '==' ? '===' : c.bop === '!=' ? '!==' : c.bop;
        return each((k) => {
          const s = `(${l[l.length === 1 ? 0 : k]} ${op} ${r[r.length === 1 ? 0 : k]})`;
          return f32 && !compare ? `F${s}` : s;
        });
      }
    }
  }

  private asFloat32(x: Checked): string[] {
    if (x.op === 'const') return [literal(Math.fround(Number(x.value)))];
    if (x.op === 'list') return x.values.map((v) => literal(Math.fround(v)));
    if (x.op === 'run') return [`rf_${x.name}`];
    return this.lanes(x).map((s) => `F(${s})`);
  }

  private read(b: BranchRef, at: string): string {
    const v = `v${this.slot.get(b.index)}[${at}]`;
    return b.scalar === 'bool' ? `(${v} !== 0)` : v;
  }
}

function literal(v: number | boolean): string {
  if (typeof v === 'boolean') return String(v);
  if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
  return Object.is(v, -0) ? '(-0)' : v < 0 ? `(${v})` : String(v);
}
