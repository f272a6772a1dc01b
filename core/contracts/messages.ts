import { Type, type Static } from '@sinclair/typebox';
import { CategoryKind, LumiSchema, LumiSourceSchema } from '../catalogue.js';
import { AnalysisDefinitionSchema } from './analysis-definition.js';

/**
 * The versioned JSON documents that cross process boundaries: a chunk task (what a worker is told),
 * a partial (what it publishes), a plan (what the plotter expects). One TypeBox definition gives
 * both the TypeScript types and the JSON Schema that receivers validate against
 * (docs/contracts.md lists them; `hzz schema` prints them).
 */
/**
 * Every number has a range. JSON cannot carry NaN or Infinity, but it can carry 1e308, which makes
 * the arithmetic downstream overflow to Infinity (written as `null` in histograms.json) or
 * underflow to 0; the ranges below are wide enough for any physics and far from those edges.
 * Bin counts (at most MAX_BINS) are checked by binningProblems, core/histogram.ts.
 */
const Energy = { minimum: -1e7, maximum: 1e7 }; // GeV: 14 TeV collisions, with a wide margin
export const BinningSchema = Type.Object({
  lo: Type.Number(Energy),
  hi: Type.Number(Energy),
  width: Type.Number({ exclusiveMinimum: 0, maximum: Energy.maximum }),
}, { additionalProperties: false });

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A bin's sum of weights: the worker's weights are float32 (< 3.4e38), so real sums stay far below. */
export const MAX_BIN_SUM = 1e300;
const SignedSums = Type.Array(Type.Number({ minimum: -MAX_BIN_SUM, maximum: MAX_BIN_SUM }));
const Sums = Type.Array(Type.Number({ minimum: 0, maximum: MAX_BIN_SUM }));
/**
 * A cross-section weight: the worker rounds it to float32, which holds 1e-30…1e30 without
 * flushing to 0 or overflowing (planAnalysis names the sample whose weight falls outside).
 */
export const XsecWeightSchema = Type.Number({ minimum: 1e-30, maximum: 1e30 });

export const ChunkSchema = Type.Object({
  /** Position in the plan; with the analysis id it names the chunk everywhere (Job, partial file). */
  index: Count,
  sample: Type.String({ minLength: 1 }),
  category: Type.String({ minLength: 1 }),
  url: Type.String({ minLength: 1 }),
  entryStart: Count,
  entryStop: Count,
}, { additionalProperties: false });

/**
 * Everything a worker needs to process one chunk, with no catalogue lookup on its side: v2 carries
 * the analysis definition (cuts, weight, histograms) where v1 carried branch names for built-in cuts.
 */
export const TaskSchema = Type.Object({
  schema: Type.Literal('hzz.task/v2'),
  analysis: Type.String({ minLength: 1 }),
  chunk: ChunkSchema,
  tree: Type.String({ minLength: 1 }),
  energyUnit: Type.Union([Type.Literal('MeV'), Type.Literal('GeV')]),
  definition: AnalysisDefinitionSchema,
  /** The run's luminosity, fb⁻¹: the definition's weight may use it (`lumi`). */
  lumi: Type.Number({ exclusiveMinimum: 0 }),
  /** Cross-section weight (lumi × 1000 × xsec / (sumw × efficiency)); absent for data, which counts 1. */
  xsecWeight: Type.Optional(XsecWeightSchema),
}, { additionalProperties: false });

/** v2: the cut-flow and the definition's further histograms, which v1 did not have. */
export const PartialHistogramSchema = Type.Object({
  schema: Type.Literal('hzz.partial/v2'),
  analysis: Type.String({ minLength: 1 }),
  chunk: ChunkSchema,
  binning: BinningSchema,
  sumw: SignedSums,
  sumw2: Sums,
  entries: Type.Array(Count),
  nRead: Count,
  nSelected: Count,
  /** Events passing each cut and all before it (the plan's `cuts`). */
  cutflow: Type.Array(Count),
  /** The plan's `histograms` after the first, whose bins are sumw, sumw2 and entries above. */
  more: Type.Array(Type.Object({ sumw: SignedSums, sumw2: Sums, entries: Type.Array(Count) }, { additionalProperties: false })),
  worker: Type.Object({ host: Type.String(), version: Type.String() }),
  producedAt: Type.String(),
  /** HMAC-SHA256 of the rest under the analysis's key, hex (core/contracts/partial-signature.ts). */
  signature: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
}, { additionalProperties: false });

export const PlanSampleSchema = Type.Object({
  sample: Type.String({ minLength: 1 }),
  category: Type.String({ minLength: 1 }),
  url: Type.String({ minLength: 1 }),
  entries: Count,
  /** Entries per cluster when the file's chunks are cut on cluster boundaries (splitIntoChunks). */
  clusterEntries: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  xsecWeight: Type.Optional(XsecWeightSchema),
  /** A data sample's integrated luminosity, fb⁻¹ (from the catalogue). */
  lumi: Type.Optional(LumiSchema),
  /** The file is a synthetic stand-in (its tree's title starts with STAND_IN_TITLE), not physics. */
  standIn: Type.Optional(Type.Literal(true)),
}, { additionalProperties: false });

/**
 * How scripts/make_root_files.py --standins titles the trees it writes, so that every run on one
 * says so: the start of the title, matched case-sensitively.
 */
export const STAND_IN_TITLE = 'hzz stand-in';

/**
 * v2: the chunks are the plan's own, derived from it by planChunks (core/chunk-plan.ts) from the
 * samples in order, their entries and cluster sizes, and `chunkSize`, so the plotter knows each
 * chunk's sample, file and entry range without the plan listing them; `unplanned` records the
 * requested samples that could not be planned (the result is then not complete).
 */
export const PlanSchema = Type.Object({
  schema: Type.Literal('hzz.plan/v2'),
  analysis: Type.String({ minLength: 1 }),
  release: Type.String(),
  lumi: LumiSchema,
  /** Where lumi came from (core/catalogue.ts runLumi). */
  lumiSource: LumiSourceSchema,
  binning: BinningSchema,
  /** The analysis definition's cut names, in order. */
  cuts: Type.Optional(Type.Array(Type.String())),
  /** Its histograms, the first of which is `binning`'s. */
  histograms: Type.Optional(Type.Array(Type.Object({ name: Type.String(), label: Type.String(), binning: BinningSchema }, { additionalProperties: false }))),
  categories: Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), kind: CategoryKind, label: Type.String(), color: Type.String() }, { additionalProperties: false })),
  samples: Type.Array(PlanSampleSchema),
  chunkSize: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  /** How many chunks planChunks derives; a receiver checks that it derives as many. */
  chunks: Count,
  unplanned: Type.Array(Type.Object({ sample: Type.String({ minLength: 1 }), error: Type.String() }, { additionalProperties: false })),
  /**
   * The key the analysis's partials are signed with (core/contracts/partial-signature.ts); a plan
   * that has one counts only partials that verify under it.
   */
  partialKey: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
}, { additionalProperties: false });

export type Chunk = Static<typeof ChunkSchema>;
export type Task = Static<typeof TaskSchema>;
export type PartialHistogram = Static<typeof PartialHistogramSchema>;
export type Plan = Static<typeof PlanSchema>;

/** A chunk as people read it in errors, conditions and events: `chunk 3 (Zee entries 0-50000)`. */
export function describeChunk(chunk: Chunk): string {
  return `chunk ${chunk.index} (${chunk.sample} entries ${chunk.entryStart}-${chunk.entryStop})`;
}
