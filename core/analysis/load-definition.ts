import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { AnalysisDefinitionSchema, type AnalysisDefinition } from '../contracts/analysis-definition.js';
import { badInput } from '../contracts/errors.js';
import { checked } from '../schema-check.js';
import { checkDefinition, type CheckedDefinition } from './check-definition.js';

/**
 * Where a definition comes from: a shipped one by name (definitions/NAME.json, the name a release's
 * catalogue goes by when none is asked for) or a user's file. Either way it is validated against
 * the schema and checked whole here, so that a bad one stops a run before anything is opened.
 */
export const DEFINITIONS_DIR = new URL('../../../definitions/', import.meta.url).pathname;

const SHIPPED = /^[A-Za-z0-9_.+-]+$/;

export function shippedDefinitionFile(name: string): string | undefined {
  const file = `${DEFINITIONS_DIR}${name}.json`;
  return SHIPPED.test(name) && existsSync(file) ? file : undefined;
}

/** The shipped definitions' names: what spec.analysis may name. */
export function shippedDefinitionNames(): string[] {
  return readdirSync(DEFINITIONS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
}

/** A shipped definition's name, or the path of a JSON file. */
export function loadDefinition(nameOrFile: string): { definition: AnalysisDefinition; checked: CheckedDefinition } {
  const file = shippedDefinitionFile(nameOrFile) ?? nameOrFile;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw badInput(`analysis definition ${nameOrFile}`, `${(err as Error).message} (a file, or one of the shipped definitions in ${DEFINITIONS_DIR})`, err);
  }
  return parseDefinition(raw, `analysis definition ${file}`);
}

export function parseDefinition(raw: unknown, what: string): { definition: AnalysisDefinition; checked: CheckedDefinition } {
  const definition = checked(AnalysisDefinitionSchema, raw, what);
  return { definition, checked: checkDefinition(definition) };
}

/** The definition with its first histogram (the plotted one) in another binning: --bins, spec.binning. */
export function withPlotBinning(def: AnalysisDefinition, binning: AnalysisDefinition['histograms'][number]['binning'] | undefined): AnalysisDefinition {
  if (!binning) return def;
  const [first, ...rest] = def.histograms;
  return { ...def, histograms: [{ ...first!, binning }, ...rest] };
}
