import { Type, type Static } from '@sinclair/typebox';
import { CategoryKind, LumiSchema, LumiSourceSchema } from '../catalogue.js';

/**
 * `hzz run --json` (`hzz.run-summary/v1`): the run's result as one JSON document on stdout, the
 * numbers of the end-of-run table (core/yields.ts) per category and per sample, the cut-flow, the
 * Higgs window, the failures and every file written. `hzz schema run` prints it.
 */
const Count = Type.Integer({ minimum: 0 });

const YieldSchema = Type.Object({
  name: Type.String(),
  kind: CategoryKind,
  /** A sample's category (absent in a category's own entry). */
  category: Type.Optional(Type.String()),
  read: Count,
  selected: Count,
  inRange: Count,
  yield: Type.Number(),
  statUnc: Type.Number({ minimum: 0 }),
  /** Events passing each of `cuts` and all before it, in that order. */
  cutflow: Type.Array(Count),
  standIn: Type.Optional(Type.Literal(true)),
}, { additionalProperties: false });

const FailureSchema = Type.Object({
  what: Type.String(),
  kind: Type.Union([Type.Literal('bad-input'), Type.Literal('transient'), Type.Literal('crash')]),
  message: Type.String(),
}, { additionalProperties: false });

const WindowSchema = Type.Object({
  lo: Type.Number(), hi: Type.Number(), signal: Type.Number(), background: Type.Number(), data: Type.Number(),
  sOverSqrtB: Type.Number(), asimovZ: Type.Number(),
}, { additionalProperties: false });

export const RunSummarySchema = Type.Object({
  schema: Type.Literal('hzz.run-summary/v1'),
  /** The output folder, and every file written into it. */
  out: Type.String(),
  files: Type.Array(Type.String()),
  seconds: Type.Number({ minimum: 0 }),
  lumi: LumiSchema,
  lumiSource: Type.Optional(LumiSourceSchema),
  chunks: Type.Object({ total: Count, done: Count }, { additionalProperties: false }),
  /** The definition's cut names, in order: what each `cutflow` entry counts. */
  cuts: Type.Array(Type.String()),
  categories: Type.Array(YieldSchema),
  samples: Type.Array(YieldSchema),
  /** 120-130 GeV; null without both a signal and a background. */
  higgsWindow: Type.Union([WindowSchema, Type.Null()]),
  failures: Type.Array(FailureSchema),
  /** Chunk attempts that failed and were tried again. */
  retried: Type.Array(FailureSchema),
}, { additionalProperties: false });

export type RunSummary = Static<typeof RunSummarySchema>;
