import { Type, type Static } from '@sinclair/typebox';
import { BranchesSchema, CategoryKind, LumiSourceSchema } from '../catalogue.js';

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

/** Everything a worker needs to process one chunk, with no catalogue lookup on its side. */
export const TaskSchema = Type.Object({
  schema: Type.Literal('hzz.task/v1'),
  analysis: Type.String({ minLength: 1 }),
  chunk: ChunkSchema,
  tree: Type.String({ minLength: 1 }),
  energyUnit: Type.Union([Type.Literal('MeV'), Type.Literal('GeV')]),
  branches: BranchesSchema,
  binning: BinningSchema,
  /** Cross-section weight (lumi × 1000 × xsec / (sumw × efficiency)); absent for data, which counts 1. */
  xsecWeight: Type.Optional(Type.Number()),
}, { additionalProperties: false });

export const PartialHistogramSchema = Type.Object({
  schema: Type.Literal('hzz.partial/v1'),
  analysis: Type.String({ minLength: 1 }),
  chunk: ChunkSchema,
  binning: BinningSchema,
  sumw: Bins,
  sumw2: Bins,
  entries: Type.Array(Count),
  nRead: Count,
  nSelected: Count,
  worker: Type.Object({ host: Type.String(), version: Type.String() }),
  producedAt: Type.String(),
  /** HMAC-SHA256 of the rest under the analysis's key, hex (core/contracts/partial-signature.ts). */
  signature: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
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
  categories: Type.Array(Type.Object({ name: Type.String(), kind: CategoryKind, label: Type.String(), color: Type.String() })),
  samples: Type.Array(PlanSampleSchema),
  chunks: Count,
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
