import { Type, type Static } from '@sinclair/typebox';

/**
 * The analysis as data (`hzz.analysis/v1`): the branches it reads and their types, named variables,
 * the ordered cuts, the Monte Carlo weight and the histograms, every formula written in the
 * expression language of core/analysis/parse-expression.ts. definitions/*.json ship the notebooks';
 * `hzz run --analysis FILE` and spec.analysis take a user's. docs/contracts.md describes it.
 */
const Name = Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' });
const Formula = Type.String({ minLength: 1, maxLength: 2000 });

/** A branch's element type as the file stores it; `[]` marks a per-object collection (lep_pt). */
export const BRANCH_TYPES = ['float32', 'float64', 'int32', 'uint32', 'int16', 'uint16', 'int8', 'uint8', 'bool'] as const;
const BranchType = Type.Union(BRANCH_TYPES.flatMap((t) => [Type.Literal(t), Type.Literal(`${t}[]`)]));

export const AnalysisDefinitionSchema = Type.Object({
  schema: Type.Literal('hzz.analysis/v1'),
  name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9_.+-]+$' }),
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  /** Every branch a formula names, with its type: the definition is checked whole before any file is opened. */
  branches: Type.Record(Name, BranchType, { description: 'branch name -> element type (float32, int32, bool, …), with [] for a per-object collection' }),
  /** Named formulas, each may use the ones before it. */
  variables: Type.Optional(Type.Array(Type.Object({ name: Name, formula: Formula }, { additionalProperties: false }), { maxItems: 64 })),
  /** Applied in order; an event counts in a histogram when it passes them all. */
  cuts: Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 80 }), formula: Formula }, { additionalProperties: false }), { maxItems: 64 }),
  /** A simulated event's weight (xsecWeight: the sample's lumi·1000·xsec/(sumw·efficiency)); data counts 1. */
  weight: Formula,
  histograms: Type.Array(Type.Object({
    name: Name,
    variable: Formula,
    binning: Type.Object({ lo: Type.Number(), hi: Type.Number(), width: Type.Number() }, { additionalProperties: false }),
    /** The x-axis title. */
    label: Type.String({ minLength: 1, maxLength: 200 }),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 16 }),
}, { additionalProperties: false });

export type AnalysisDefinition = Static<typeof AnalysisDefinitionSchema>;
export type BranchType = Static<typeof BranchType>;
