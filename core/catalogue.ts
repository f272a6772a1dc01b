import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { badInput } from './contracts/errors.js';
import { checkSamplePath } from './sample-path.js';
import { checked } from './schema-check.js';

/**
 * The sample catalogue: which files make up each sample, how MC is normalised, how categories are
 * drawn, and how the tree is laid out. It is a data file (catalogues/*.json), so users copy and edit
 * it, and a newer release is another file rather than new code.
 */
const Name = Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_.+*-]+$' });
export const CategoryKind = Type.Union([Type.Literal('data'), Type.Literal('background'), Type.Literal('signal')]);

/**
 * The catalogue's numbers have ranges (see core/contracts/messages.ts): a luminosity in fb⁻¹ up to
 * a hundred times what the LHC will ever deliver, a cross-section up to a thousand times the total
 * pp one, a skim efficiency being a fraction; a weight computed from them is checked too
 * (planAnalysis).
 */
export const LumiSchema = Type.Number({ exclusiveMinimum: 0, maximum: 1e5 });
const Positive = (maximum: number) => Type.Number({ exclusiveMinimum: 0, maximum });

/** Branch names of the tree: the release's layout is data, so a new release needs no new code. */
export const BranchesSchema = Type.Object({
  pt: Type.String(), eta: Type.String(), phi: Type.String(), energy: Type.String(),
  charge: Type.String(), type: Type.String(), mcWeight: Type.String(), scaleFactors: Type.Array(Type.String()),
}, { additionalProperties: false });

export const CatalogueSchema = Type.Object({
  schema: Type.Literal('hzz.catalogue/v1'),
  release: Name,
  description: Type.Optional(Type.String()),
  urlPrefix: Type.String({ minLength: 1 }),
  tree: Type.String({ minLength: 1 }),
  energyUnit: Type.Union([Type.Literal('MeV'), Type.Literal('GeV')]),
  branches: BranchesSchema,
  /** fb⁻¹ for a run without data (MC only); a run with data takes the sum of its samples' lumi. */
  lumi: LumiSchema,
  categories: Type.Array(Type.Object({
    name: Name, kind: CategoryKind, label: Type.String(), color: Type.String({ pattern: '^#[0-9a-fA-F]{6}$' }),
  }, { additionalProperties: false }), { minItems: 1 }),
  samples: Type.Array(Type.Object({
    name: Name,
    category: Name,
    path: Type.String({ minLength: 1 }),
    dsid: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
    /** pb */
    xsec: Type.Optional(Positive(1e11)),
    sumw: Type.Optional(Positive(1e20)),
    efficiency: Type.Optional(Positive(1)),
    /** A data sample's integrated luminosity, fb⁻¹: a run's MC is normalised to the data it ran. */
    lumi: Type.Optional(LumiSchema),
  }, { additionalProperties: false }), { minItems: 1 }),
}, { additionalProperties: false });

export type Catalogue = Static<typeof CatalogueSchema>;
export type Category = Catalogue['categories'][number];
export type Sample = Catalogue['samples'][number];
export type Branches = Static<typeof BranchesSchema>;

export const DEFAULT_CATALOGUE = new URL('../../catalogues/atlas-2020-4lep.json', import.meta.url).pathname;

export function loadCatalogue(file: string = DEFAULT_CATALOGUE): Catalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw badInput(`catalogue ${file}`, (err as Error).message, err);
  }
  return parseCatalogue(raw, `catalogue ${file}`);
}

export function parseCatalogue(raw: unknown, what: string): Catalogue {
  const cat = checked(CatalogueSchema, raw, what);
  const categories = new Map(cat.categories.map((c) => [c.name, c]));
  const twice = repeated(cat.categories.map((c) => c.name));
  // Drawn once per entry, a repeated category would be stacked twice on the plot.
  if (twice) throw badInput(`${what}: /categories/${twice.at} (${twice.name})`, `category '${twice.name}' is listed twice`);
  const seen = new Set<string>();
  cat.samples.forEach((s, i) => {
    const at = `${what}: /samples/${i} (${s.name})`;
    if (seen.has(s.name) || categories.has(s.name)) throw badInput(at, `name '${s.name}' is used twice`);
    seen.add(s.name);
    const c = categories.get(s.category);
    if (!c) throw badInput(at, `category '${s.category}' is not one of ${[...categories.keys()].join(', ')}`);
    if (c.kind !== 'data') {
      if (s.lumi !== undefined) throw badInput(at, `'lumi' belongs to data samples: an MC sample (category kind '${c.kind}') is normalised to the run's`);
      for (const f of ['xsec', 'sumw', 'efficiency'] as const) {
        if (s[f] === undefined) throw badInput(at, `an MC sample (category kind '${c.kind}') needs '${f}'`);
      }
    }
  });
  cat.samples.forEach(checkSamplePath);
  return cat;
}

/** The first name that occurs again in the list, and where it does. */
export function repeated(names: readonly string[]): { name: string; at: number } | undefined {
  const seen = new Set<string>();
  for (const [at, name] of names.entries()) {
    if (seen.has(name)) return { name, at };
    seen.add(name);
  }
  return undefined;
}

export function categoryOf(cat: Catalogue, s: Sample): Category {
  return cat.categories.find((c) => c.name === s.category)!;
}

/** The samples named, where a name is a sample or a whole category; all samples when none. */
export function selectSamples(cat: Catalogue, names?: readonly string[]): Sample[] {
  if (!names || names.length === 0) return cat.samples;
  const wanted = new Set<string>();
  for (const n of names) {
    const matches = cat.samples.filter((s) => s.name === n || s.category === n);
    if (matches.length === 0) {
      throw badInput(`sample '${n}'`, `is neither a sample nor a category of ${cat.release} (samples: ${cat.samples.map((s) => s.name).join(', ')}; categories: ${cat.categories.map((c) => c.name).join(', ')})`);
    }
    matches.forEach((s) => wanted.add(s.name));
  }
  return cat.samples.filter((s) => wanted.has(s.name));
}

/** Why a luminosity set by the user (--lumi, spec.lumi) is out of range, or undefined. */
export function lumiProblem(lumi: number): string | undefined {
  return Value.Check(LumiSchema, lumi) ? undefined : `must be above 0 and at most ${LumiSchema.maximum} fb⁻¹ (got ${lumi})`;
}

/** Where a run's luminosity came from: set by the user, summed over its data samples, or the catalogue's default (no data). */
export const LumiSourceSchema = Type.Union([Type.Literal('set'), Type.Literal('data'), Type.Literal('catalogue')]);
export type LumiSource = Static<typeof LumiSourceSchema>;

/**
 * The luminosity a run normalises its MC to and labels its plot with: `set` when given (--lumi,
 * spec.lumi), else the sum over the data samples that run (each sample's `lumi`), else, for a run
 * of MC only, the catalogue's default. A data sample without a `lumi` cannot be summed, so it asks
 * for one to be set rather than guess.
 */
export function runLumi(cat: Catalogue, samples: readonly Sample[], set?: number): { lumi: number; lumiSource: LumiSource } {
  if (set !== undefined) {
    const problem = lumiProblem(set);
    if (problem) throw badInput('lumi', problem);
    return { lumi: set, lumiSource: 'set' };
  }
  const data = samples.filter((s) => categoryOf(cat, s).kind === 'data');
  if (data.length === 0) return { lumi: cat.lumi, lumiSource: 'catalogue' };
  const unknown = data.find((s) => s.lumi === undefined);
  if (unknown) throw badInput(`sample '${unknown.name}'`, `is data without a 'lumi' in catalogue ${cat.release}: give the run's luminosity (--lumi, spec.lumi)`);
  // Rounded to the catalogue's precision: 0.5 + 1.9 + 2.9 + 4.7 is to read 10, not 10.000000000000002.
  return { lumi: Number(data.reduce((sum, s) => sum + s.lumi!, 0).toPrecision(12)), lumiSource: 'data' };
}
