import { Type, type Static } from '@sinclair/typebox';
import { CategoryKind, LumiSourceSchema } from '../catalogue.js';
import { AnalysisDefinitionSchema } from './analysis-definition.js';

/**
 * The versioned JSON documents that cross process boundaries: a chunk task (what a worker is told),
 * a partial (what it publishes), a plan (what the plotter expects). One TypeBox definition gives
 * both the TypeScript types and the JSON Schema that receivers validate against
 * (docs/contracts.md lists them; `hzz schema` prints them).
 */
export const BinningSchema = Type.Object({
  lo: Type.Number(),
  hi: Type.Number(),
  width: Type.Number({ exclusiveMinimum: 0 }),
}, { additionalProperties: false });

const Count = Type.Integer({ minimum: 0 });
const Bins = Type.Array(Type.Number());

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
  xsecWeight: Type.Optional(Type.Number()),
}, { additionalProperties: false });

/** v2: the cut-flow and the definition's further histograms, which v1 did not have. */
export const PartialHistogramSchema = Type.Object({
  schema: Type.Literal('hzz.partial/v2'),
  analysis: Type.String({ minLength: 1 }),
  chunk: ChunkSchema,
  binning: BinningSchema,
  sumw: Bins,
  sumw2: Bins,
  entries: Type.Array(Count),
  nRead: Count,
  nSelected: Count,
  /** Events passing each cut and all before it (the plan's `cuts`). */
  cutflow: Type.Array(Count),
  /** The plan's `histograms` after the first, whose bins are sumw, sumw2 and entries above. */
  more: Type.Array(Type.Object({ sumw: Bins, sumw2: Bins, entries: Type.Array(Count) }, { additionalProperties: false })),
  worker: Type.Object({ host: Type.String(), version: Type.String() }),
  producedAt: Type.String(),
}, { additionalProperties: false });

export const PlanSampleSchema = Type.Object({
  sample: Type.String(),
  category: Type.String(),
  url: Type.String(),
  entries: Count,
  xsecWeight: Type.Optional(Type.Number()),
  /** A data sample's integrated luminosity, fb⁻¹ (from the catalogue). */
  lumi: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** The file is a synthetic stand-in (its tree's title starts with STAND_IN_TITLE), not physics. */
  standIn: Type.Optional(Type.Literal(true)),
}, { additionalProperties: false });

/**
 * How scripts/make_root_files.py --standins titles the trees it writes, so that every run on one
 * says so: the start of the title, matched case-sensitively.
 */
export const STAND_IN_TITLE = 'hzz stand-in';

export const PlanSchema = Type.Object({
  schema: Type.Literal('hzz.plan/v1'),
  analysis: Type.String({ minLength: 1 }),
  release: Type.String(),
  lumi: Type.Number({ exclusiveMinimum: 0 }),
  /** Where lumi came from (core/catalogue.ts runLumi); absent in plans made before it was recorded. */
  lumiSource: Type.Optional(LumiSourceSchema),
  binning: BinningSchema,
  /** The analysis definition's cut names, in order; absent in plans made before definitions. */
  cuts: Type.Optional(Type.Array(Type.String())),
  /** Its histograms, the first of which is `binning`'s; absent in plans made before definitions. */
  histograms: Type.Optional(Type.Array(Type.Object({ name: Type.String(), label: Type.String(), binning: BinningSchema }, { additionalProperties: false }))),
  categories: Type.Array(Type.Object({ name: Type.String(), kind: CategoryKind, label: Type.String(), color: Type.String() })),
  samples: Type.Array(PlanSampleSchema),
  chunks: Count,
}, { additionalProperties: false });

export type Chunk = Static<typeof ChunkSchema>;
export type Task = Static<typeof TaskSchema>;
export type PartialHistogram = Static<typeof PartialHistogramSchema>;
export type Plan = Static<typeof PlanSchema>;

/** A chunk as people read it in errors, conditions and events: `chunk 3 (Zee entries 0-50000)`. */
export function describeChunk(chunk: Chunk): string {
  return `chunk ${chunk.index} (${chunk.sample} entries ${chunk.entryStart}-${chunk.entryStop})`;
}
