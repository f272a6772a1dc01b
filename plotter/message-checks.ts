import type { Static, TSchema } from '@sinclair/typebox';
import { analysisIdProblem } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import { repeated } from '../core/catalogue.js';
import { planChunks } from '../core/chunk-plan.js';
import { describeChunk, PartialHistogramSchema, PlanSchema, type Chunk, type PartialHistogram, type Plan } from '../core/contracts/messages.js';
import { signatureProblem } from '../core/contracts/partial-signature.js';
import { binCount, binningProblems, sameBinning } from '../core/histogram.js';
import { checked } from '../core/schema-check.js';

/**
 * What the plotter refuses, and why, in words that go into the dead-letter header. A message is
 * judged first on its own (JSON, schema, a usable analysis id, bins that fit its binning) and, for
 * a partial whose plan is known, against that plan.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export function parsePartial(body: Buffer | string): Checked<PartialHistogram> {
  const doc = parseDocument(body, PartialHistogramSchema, 'partial');
  if (!doc.ok) return doc;
  const p = doc.value;
  const problem = analysisIdProblem(p.analysis) ?? binningProblems(p.binning)[0] ?? partialProblem(p);
  if (problem) return { ok: false, reason: `partial: ${problem}` };
  return doc;
}

/** A plan as bytes from the queue or a file (the HTTP API takes no plans). */
export function parsePlan(body: Buffer | string): Checked<Plan> {
  const doc = parseDocument(body, PlanSchema, 'plan');
  if (!doc.ok) return doc;
  const plan = doc.value;
  const problem = analysisIdProblem(plan.analysis) ?? binningProblems(plan.binning)[0];
  if (problem) return { ok: false, reason: `plan: ${problem}` };
  // Every publisher signs (the operator, hzz run --broker): a plan without a key would count unsigned, forgeable partials.
  if (plan.partialKey === undefined) return { ok: false, reason: 'plan: /partialKey is missing: the plotter counts only partials signed with their analysis\'s key' };
  // Listed twice, a sample would be counted twice and a category stacked twice.
  for (const [field, names] of [['samples', plan.samples.map((s) => s.sample)], ['categories', plan.categories.map((c) => c.name)]] as const) {
    const twice = repeated(names);
    if (twice) return { ok: false, reason: `plan: /${field}/${twice.at}: '${twice.name}' is listed twice` };
  }
  const categories = new Set(plan.categories.map((c) => c.name));
  const stray = plan.samples.find((s) => !categories.has(s.category));
  if (stray) return { ok: false, reason: `plan: sample '${stray.sample}' is in category '${stray.category}', which the plan does not list` };
  const derived = chunksOf(plan).length;
  if (derived !== plan.chunks) return { ok: false, reason: `plan: /chunks is ${plan.chunks}, but its samples cut into chunks of ${plan.chunkSize} give ${derived}` };
  return doc;
}

/** A partial's own consistency: its bins fit its binning and its counts fit its chunk. */
function partialProblem(p: PartialHistogram): string | undefined {
  const n = binCount(p.binning);
  for (const key of ['sumw', 'sumw2', 'entries'] as const) {
    if (p[key].length !== n) return `/${key} has ${p[key].length} bins, its binning ${n}`;
  }
  const c = p.chunk;
  if (c.entryStop < c.entryStart) return `chunk entry range [${c.entryStart}, ${c.entryStop}) is reversed`;
  if (p.nRead > c.entryStop - c.entryStart) return `/nRead is ${p.nRead}, but chunk entry range [${c.entryStart}, ${c.entryStop}) holds ${c.entryStop - c.entryStart}`;
  if (p.nSelected > p.nRead) return `/nSelected (${p.nSelected}) is more than /nRead (${p.nRead})`;
  const inRange = p.entries.reduce((a, b) => a + b, 0);
  if (inRange > p.nSelected) return `/entries add up to ${inRange}, more than /nSelected (${p.nSelected})`;
  return undefined;
}

/** Why a partial does not belong to this plan, or undefined when it does. */
export function partialMismatch(plan: Plan, p: PartialHistogram): string | undefined {
  const c = p.chunk;
  if (c.index >= plan.chunks) return `chunk ${c.index} is beyond the plan's ${plan.chunks} chunks`;
  if (!sameBinning(p.binning, plan.binning)) return `chunk ${c.index} has binning ${JSON.stringify(p.binning)}, the plan ${JSON.stringify(plan.binning)}`;
  const planned = chunksOf(plan)[c.index]!;
  const differs = (Object.keys(planned) as (keyof Chunk)[]).filter((k) => planned[k] !== c[k]);
  if (differs.length > 0) return `chunk ${c.index} is ${describeChunk(c)} (${c.url}), the plan's ${describeChunk(planned)} (${planned.url}): ${differs.join(', ')} differ`;
  const forged = signatureProblem(p, plan.partialKey);
  if (forged) return `chunk ${c.index} is not from this analysis: ${forged}`;
  return shapeMismatch(plan, p);
}

/** A cut-flow or further histograms other than the plan's definition gives (a plan from before definitions has neither). */
function shapeMismatch(plan: Plan, p: PartialHistogram): string | undefined {
  const cuts = plan.cuts?.length ?? 0;
  if (p.cutflow.length !== cuts) return `chunk ${p.chunk.index} has a cut-flow of ${p.cutflow.length} cuts, the plan ${cuts}`;
  const more = plan.histograms?.slice(1) ?? [];
  if (p.more.length !== more.length) return `chunk ${p.chunk.index} has ${p.more.length} further histograms, the plan ${more.length}`;
  for (const [i, h] of more.entries()) {
    const n = binCount(h.binning);
    for (const key of ['sumw', 'sumw2', 'entries'] as const) {
      if (p.more[i]![key].length !== n) return `chunk ${p.chunk.index}: histogram '${h.name}' /${key} has ${p.more[i]![key].length} bins, its binning ${n}`;
    }
  }
  return undefined;
}

/** The plan's chunks, derived once per plan object (a plan never changes once stored). */
const derivedChunks = new WeakMap<Plan, Chunk[]>();
function chunksOf(plan: Plan): Chunk[] {
  let chunks = derivedChunks.get(plan);
  if (!chunks) derivedChunks.set(plan, chunks = planChunks(plan));
  return chunks;
}

function parseDocument<S extends TSchema>(body: Buffer | string, schema: S, what: string): Checked<Static<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `${what}: not valid JSON: ${errorMessage(err)}` };
  }
  return validate(raw, schema, what);
}

function validate<S extends TSchema>(raw: unknown, schema: S, what: string): Checked<Static<S>> {
  try {
    return { ok: true, value: checked(schema, raw, what) };
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}
