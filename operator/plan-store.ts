import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { chunkTasks, planChunks } from '../core/chunk-plan.js';
import { PlanSchema, TaskSchema, type Plan, type Task } from '../core/contracts/messages.js';
import { canonicalJson } from '../core/util/canonical-json.js';
import type { HZZAnalysis, ResolvedSpec } from './api/v1alpha1.js';
import type { ConfigMap } from './kube-types.js';
import { ANNOTATIONS, LABELS, MANAGER, controllerRef, planConfigMapName } from './naming.js';

/**
 * A plan, once made, is kept in a ConfigMap owned by the analysis (`<name>-g<generation>-plan`),
 * because it must not change while its chunks run: a restarted operator would otherwise re-read
 * the files' headers, and a file that changed in between would give chunks that no longer match
 * the Jobs already run or the plan the plotter holds. The ConfigMap holds the Plan the plotter
 * received and its recipe: what else is needed to rebuild every Task from it (tree, analysis
 * definition) and the volume its files are on. The chunk list itself is derived from the plan (planChunks), so the object stays small
 * whatever the number of chunks. A plan that could not be made is kept too, with its error, so a
 * bad spec fails once instead of being re-planned on every reconcile.
 */
const RecipeSchema = Type.Object({
  tree: TaskSchema.properties.tree,
  energyUnit: TaskSchema.properties.energyUnit,
  definition: TaskSchema.properties.definition,
  /** The PVC the plan's file paths are on, and where workers mount it (the paths include it). */
  volume: Type.Optional(Type.Object({ pvc: Type.String(), mountPath: Type.String() })),
});
export type Recipe = Static<typeof RecipeSchema>;

export interface StoredPlan {
  plan: Plan;
  recipe: Recipe;
}

export type PlanContent = StoredPlan | { error: string };

export type PlanRecord = PlanContent & {
  configMap: string;
  generation: number;
  specHash: string;
  published: boolean;
};

const KEYS = { plan: 'plan.json', recipe: 'recipe.json', error: 'error' } as const;

/** The spec fields a plan depends on; the rest (parallelism, retries, image, …) act on a running plan. */
export function planSpecHash(spec: ResolvedSpec): string {
  const { release, analysis, analysisDefinition, catalogue, samples, source, lumi, binning, chunkSize, output } = spec;
  return createHash('sha256').update(canonicalJson({ release, analysis, analysisDefinition, catalogue, samples, source, lumi, binning, chunkSize, output })).digest('hex').slice(0, 16);
}

export function planConfigMap(owner: HZZAnalysis, generation: number, specHash: string, content: PlanContent): ConfigMap {
  const data: Record<string, string> = 'error' in content
    ? { [KEYS.error]: content.error }
    : { [KEYS.plan]: JSON.stringify(content.plan), [KEYS.recipe]: JSON.stringify(content.recipe) };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: planConfigMapName(owner.metadata.name, generation),
      namespace: owner.metadata.namespace,
      labels: { [LABELS.analysis]: owner.metadata.name, [LABELS.generation]: String(generation), [LABELS.managedBy]: MANAGER, [LABELS.component]: 'plan' },
      annotations: { [ANNOTATIONS.specHash]: specHash },
      ownerReferences: [controllerRef(owner)],
    },
    data,
  };
}

/**
 * Every reconcile reads its analysis's plan, and every chunk's Task is rebuilt from it: read once
 * per ConfigMap object (the informer's cache replaces the object when the ConfigMap changes) and
 * built once per record, a reconcile of 2,000 chunks does not parse the plan and allocate 2,000
 * tasks again each time (docs/performance.md, "The control plane at scale").
 */
const records = new WeakMap<ConfigMap, PlanRecord>();
const tasks = new WeakMap<StoredPlan, readonly Task[]>();

/** The record a plan ConfigMap holds; a damaged one reads as a failed plan rather than stopping the operator. */
export function readPlanRecord(cm: ConfigMap): PlanRecord {
  let record = records.get(cm);
  if (!record) records.set(cm, (record = parsePlanRecord(cm)));
  return record;
}

function parsePlanRecord(cm: ConfigMap): PlanRecord {
  const meta = {
    configMap: cm.metadata.name,
    generation: Number(cm.metadata.labels?.[LABELS.generation]),
    specHash: cm.metadata.annotations?.[ANNOTATIONS.specHash] ?? '',
    published: cm.metadata.annotations?.[ANNOTATIONS.planPublished] === 'true',
  };
  const data = cm.data ?? {};
  if (data[KEYS.error] !== undefined) return { ...meta, error: data[KEYS.error] };
  try {
    const plan: unknown = JSON.parse(data[KEYS.plan] ?? 'null');
    const recipe: unknown = JSON.parse(data[KEYS.recipe] ?? 'null');
    if (Value.Check(PlanSchema, plan) && Value.Check(RecipeSchema, recipe)) return { ...meta, plan, recipe };
  } catch {
    // reported below
  }
  return { ...meta, error: `the stored plan in ConfigMap ${cm.metadata.name} is unreadable` };
}

/** Every chunk's Task, rebuilt from the stored plan exactly as planAnalysis made them. */
export function tasksOf(stored: StoredPlan): readonly Task[] {
  let made = tasks.get(stored);
  if (!made) tasks.set(stored, (made = chunkTasks(stored.plan, stored.recipe, planChunks(stored.plan))));
  return made;
}
