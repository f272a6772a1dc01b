import { Type, type Static } from '@sinclair/typebox';

/**
 * The analysis as data (`hzz.analysis/v1`): the branches it reads and their types, named variables,
 * the ordered cuts, the Monte Carlo weight and the histograms, every formula written in the
 * expression language of core/analysis/parse-expression.ts. definitions/*.json ship the notebooks';
 * `hzz run --analysis FILE` and spec.analysisDefinition take a user's. docs/contracts.md describes
 * it. The descriptions are what `kubectl explain hzzanalysis.spec.analysisDefinition` prints.
 */
const Name = Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' });
const Formula = Type.String({ minLength: 1, maxLength: 2000 });

/** A branch's element type as the file stores it; `[]` marks a per-object collection (lep_pt). */
export const BRANCH_TYPES = ['float32', 'float64', 'int32', 'uint32', 'int16', 'uint16', 'int8', 'uint8', 'bool'] as const;
const BranchType = Type.Union(BRANCH_TYPES.flatMap((t) => [Type.Literal(t), Type.Literal(`${t}[]`)]));

export const AnalysisDefinitionSchema = Type.Object({
  schema: Type.Literal('hzz.analysis/v1', { description: 'The document type and version: hzz.analysis/v1' }),
  name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9_.+-]+$', description: 'The analysis name, as errors and outputs name it' }),
  description: Type.Optional(Type.String({ maxLength: 4000, description: 'What the analysis selects, for people' })),
  /** Every branch a formula names, with its type: the definition is checked whole before any file is opened. */
  branches: Type.Record(Name, BranchType, {
    maxProperties: 128,
    description: 'Every branch a formula reads: name -> element type as the file stores it (float32, float64, int32, uint32, int16, uint16, int8, uint8, bool), with [] for a per-object collection (lep_pt: float32[])',
  }),
  /** Named formulas, each may use the ones before it. */
  variables: Type.Optional(Type.Array(Type.Object({
    name: Type.String({ ...Name, description: 'The name later formulas use; not a branch or run constant name' }),
    formula: Type.String({ ...Formula, description: 'An expression over branches, earlier variables and toGeV, e.g. mass(lep_pt[0:4], lep_eta[0:4], lep_phi[0:4], lep_E[0:4]) * toGeV' }),
  }, { additionalProperties: false }), { maxItems: 64, description: 'Named formulas computed once per event; each may use the ones before it' })),
  /** Applied in order; an event counts in a histogram when it passes them all. */
  cuts: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 80, description: 'The name the cut-flow reports it under' }),
    formula: Type.String({ ...Formula, description: 'A boolean expression, e.g. sum(lep_charge[0:4]) == 0' }),
  }, { additionalProperties: false }), { maxItems: 64, description: 'The event selection, applied in order; the cut-flow counts the events passing each cut and all before it' }),
  /** A simulated event's weight (xsecWeight: the sample's lumi·1000·xsec/(sumw·efficiency)); data counts 1. */
  weight: Type.String({ ...Formula, description: "A simulated event's weight, a number expression that may use xsecWeight (lumi*1000*xsec/(sumw*efficiency)) and lumi; data events count 1" }),
  histograms: Type.Array(Type.Object({
    name: Type.String({ ...Name, description: 'Names its output files (hzz_NAME.png, hzz_NAME.json); the first is the plotted hzz_m4l.png' }),
    variable: Type.String({ ...Formula, description: 'The number expression filled for every selected event' }),
    binning: Type.Object({
      lo: Type.Number({ description: 'Lower edge of the first bin' }),
      hi: Type.Number({ description: 'Upper edge of the last bin' }),
      width: Type.Number({ exclusiveMinimum: 0, description: 'Bin width; (hi - lo) / width must be a whole number of bins' }),
    }, { additionalProperties: false, description: 'Equal-width bins from lo to hi' }),
    /** The x-axis title. */
    label: Type.String({ minLength: 1, maxLength: 200, description: 'The x-axis title' }),
  }, { additionalProperties: false }), { minItems: 1, maxItems: 16, description: 'What is filled for the selected events: the first is the plot and histograms.json, each further one its own PNG and JSON' }),
}, { additionalProperties: false });

export type AnalysisDefinition = Static<typeof AnalysisDefinitionSchema>;
export type BranchType = Static<typeof BranchType>;
