import type { AnalysisDefinition, BranchType } from '../contracts/analysis-definition.js';
import { badInput } from '../contracts/errors.js';
import { binningProblems, type Binning } from '../histogram.js';
import { checkExpression, describeType, RUN_CONSTANTS, type BranchRef, type Checked, type RunConstant, type Scalar, type Scope } from './check-expression.js';
import { ExpressionError, parseExpression } from './parse-expression.js';

/**
 * A whole definition checked: every formula parsed and typed against the declared branches, every
 * binning whole, names unique. What this returns is all the compiler needs, and whatever is wrong
 * is found here, before a file is opened, as a bad-input error naming the formula and the position.
 */
export interface CheckedDefinition {
  name: string;
  /** The branches the formulas read, in declaration order (a compiled chunk gets their columns in this order). */
  branches: BranchRef[];
  cuts: { name: string; test: Checked }[];
  weight: Checked;
  histograms: { name: string; variable: Checked; binning: Binning; label: string }[];
}

const SCALAR_OF: Record<string, Scalar> = { float32: 'float32', float64: 'float64', bool: 'bool' };

/** The type a branch declaration stands for. */
export function branchScalar(t: BranchType): { scalar: Scalar; jagged: boolean } {
  const jagged = t.endsWith('[]');
  const base = jagged ? t.slice(0, -2) : t;
  return { scalar: SCALAR_OF[base] ?? 'int', jagged };
}

export function checkDefinition(def: AnalysisDefinition): CheckedDefinition {
  const what = `analysis ${def.name}`;
  const branches = new Map<string, BranchRef>();
  Object.entries(def.branches).forEach(([name, t], index) => {
    if ((RUN_CONSTANTS as readonly string[]).includes(name)) throw badInput(`${what}: branch '${name}'`, `is the name of a run constant (${RUN_CONSTANTS.join(', ')})`);
    branches.set(name, { index, name, ...branchScalar(t) });
  });
  const variables = new Map<string, Checked>();
  const scope = (runConstants: RunConstant[]): Scope => ({ branches, variables, runConstants: new Set(runConstants) });
  const event = scope(['toGeV']);
  const formula = (where: string, text: string, s: Scope, want: (c: Checked) => string | undefined): Checked => {
    try {
      const c = checkExpression(parseExpression(text), s);
      const problem = want(c);
      if (problem) throw new ExpressionError(0, problem);
      return c;
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      throw badInput(`${what}: ${where}`, `formula "${text}" at character ${err.pos + 1}${pointAt(text, err.pos)}: ${err.message}`);
    }
  };
  const scalar = (kind: 'boolean' | 'number') => (c: Checked): string | undefined => {
    const ok = c.type.length === undefined && !c.type.every && (kind === 'boolean' ? c.type.scalar === 'bool' : c.type.scalar !== 'bool');
    return ok ? undefined : `must be one ${kind} per event, is ${describeType(c.type)}`;
  };

  for (const v of def.variables ?? []) {
    const where = `variable '${v.name}'`;
    if (branches.has(v.name) || variables.has(v.name) || (RUN_CONSTANTS as readonly string[]).includes(v.name)) throw badInput(`${what}: ${where}`, `the name is taken by a branch, a run constant or another variable`);
    const value = formula(where, v.formula, event, (c) => (c.type.every ? `holds every object (${describeType(c.type)}): a variable is one value or a fixed slice, so reduce it with sum, count, any or all` : undefined));
    // A constant is used as its value; anything else is computed once per event, where first needed.
    variables.set(v.name, value.op === 'const' ? value : { op: 'variable', index: variables.size, value, type: value.type });
  }
  const cutNames = new Set<string>();
  const cuts = def.cuts.map((c) => {
    if (cutNames.has(c.name)) throw badInput(`${what}: cut '${c.name}'`, 'the name is used twice');
    cutNames.add(c.name);
    return { name: c.name, test: formula(`cut '${c.name}'`, c.formula, event, scalar('boolean')) };
  });
  const weight = formula('weight', def.weight, scope(['toGeV', 'lumi', 'xsecWeight']), scalar('number'));
  const histNames = new Set<string>();
  const histograms = def.histograms.map((h) => {
    const where = `histogram '${h.name}'`;
    if (histNames.has(h.name)) throw badInput(`${what}: ${where}`, 'the name is used twice');
    histNames.add(h.name);
    const problems = binningProblems(h.binning);
    if (problems.length > 0) throw badInput(`${what}: ${where}`, `binning ${JSON.stringify(h.binning)} has no bins: ${problems.join('; ')}`);
    return { name: h.name, variable: formula(where, h.variable, event, scalar('number')), binning: h.binning, label: h.label };
  });
  return { name: def.name, branches: [...branches.values()], cuts, weight, histograms };
}

/** ` (here: "…")`, the text from the position on, so that the place is seen without counting. */
function pointAt(text: string, pos: number): string {
  const rest = text.slice(pos, pos + 30);
  return rest ? `, here: "${rest}${text.length > pos + 30 ? '…' : ''}"` : ' (its end)';
}
