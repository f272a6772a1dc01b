import type { Static, TSchema } from '@sinclair/typebox';
import { analysisIdProblem } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import { PartialHistogramSchema, PlanSchema, type PartialHistogram, type Plan } from '../core/contracts/messages.js';
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
  const problem = analysisIdProblem(p.analysis) ?? binningProblems(p.binning)[0];
  if (problem) return { ok: false, reason: `partial: ${problem}` };
  const n = binCount(p.binning);
  for (const key of ['sumw', 'sumw2', 'entries'] as const) {
    if (p[key].length !== n) return { ok: false, reason: `partial: /${key} has ${p[key].length} bins, its binning ${n}` };
  }
  if (p.chunk.entryStop < p.chunk.entryStart) return { ok: false, reason: `partial: chunk entry range [${p.chunk.entryStart}, ${p.chunk.entryStop}) is reversed` };
  return doc;
}

/** A plan as bytes from the queue or a file, or as a document already parsed (the HTTP body). */
export function parsePlan(input: unknown): Checked<Plan> {
  const doc = typeof input === 'string' || Buffer.isBuffer(input) ? parseDocument(input, PlanSchema, 'plan') : validate(input, PlanSchema, 'plan');
  if (!doc.ok) return doc;
  const plan = doc.value;
  const problem = analysisIdProblem(plan.analysis) ?? binningProblems(plan.binning)[0];
  if (problem) return { ok: false, reason: `plan: ${problem}` };
  const categories = new Set(plan.categories.map((c) => c.name));
  const stray = plan.samples.find((s) => !categories.has(s.category));
  if (stray) return { ok: false, reason: `plan: sample '${stray.sample}' is in category '${stray.category}', which the plan does not list` };
  return doc;
}

/** Why a partial does not belong to this plan, or undefined when it does. */
export function partialMismatch(plan: Plan, p: PartialHistogram): string | undefined {
  const c = p.chunk;
  if (c.index >= plan.chunks) return `chunk ${c.index} is beyond the plan's ${plan.chunks} chunks`;
  if (!sameBinning(p.binning, plan.binning)) return `chunk ${c.index} has binning ${JSON.stringify(p.binning)}, the plan ${JSON.stringify(plan.binning)}`;
  const s = plan.samples.find((x) => x.sample === c.sample);
  if (!s) return `chunk ${c.index} is for sample '${c.sample}', which is not in the plan`;
  if (s.category !== c.category || s.url !== c.url) return `chunk ${c.index} names sample '${c.sample}' with another category or file than the plan`;
  if (c.entryStop > s.entries) return `chunk ${c.index} ends at entry ${c.entryStop}, past the sample's ${s.entries}`;
  const forged = plan.partialKey === undefined ? undefined : signatureProblem(p, plan.partialKey);
  if (forged) return `chunk ${c.index} is not from this analysis: ${forged}`;
  return undefined;
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
