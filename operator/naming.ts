import { createHash } from 'node:crypto';
import { GROUP } from './api/v1alpha1.js';
import type { KubeObject, OwnerReference } from './kube-types.js';

/**
 * The names and labels by which the operator finds its own objects again. Every one is derived
 * from the analysis, the plan's generation and the chunk, never stored: after a restart the
 * operator computes the same names, so a Job it created before is found (or its creation answered
 * with AlreadyExists) instead of duplicated.
 */
export const LABELS = {
  analysis: `${GROUP}/analysis`,
  generation: `${GROUP}/generation`,
  chunk: `${GROUP}/chunk`,
  attempt: `${GROUP}/attempt`,
  /** Which run of the chunk: 0, then 1, 2, … each time the plotter lacked its partial (reconcile.ts). */
  round: `${GROUP}/round`,
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
} as const;

export const ANNOTATIONS = {
  /** Hash of the spec fields that shape the plan: a change means a new plan. */
  specHash: `${GROUP}/spec-hash`,
  /** Set once the broker confirmed the plan for the plotter. */
  planPublished: `${GROUP}/plan-published`,
  sample: `${GROUP}/sample`,
  entries: `${GROUP}/entries`,
} as const;

export const MANAGER = 'hzz-operator';

/** Job names are also pod label values (job-name), so 63 characters at most. */
const MAX_NAME = 63;

export function jobName(analysis: string, generation: number, chunk: number, attempt: number, round = 0): string {
  return bounded(analysis, `-g${generation}-c${chunk}${round > 0 ? `-r${round}` : ''}${attempt > 0 ? `-a${attempt}` : ''}`);
}

export function planConfigMapName(analysis: string, generation: number): string {
  return bounded(analysis, `-g${generation}-plan`);
}

/** Secret names may be 253 characters long and an analysis name is at most 63: no cutting needed. */
export function partialKeySecretName(analysis: string): string {
  return `${analysis}-partial-key`;
}

/** A long analysis name is cut and a hash of the whole name appended, so names stay unique and stable. */
function bounded(prefix: string, suffix: string): string {
  if (prefix.length + suffix.length <= MAX_NAME) return prefix + suffix;
  const hash = createHash('sha256').update(prefix).digest('hex').slice(0, 8);
  const keep = prefix.slice(0, MAX_NAME - suffix.length - hash.length - 1).replace(/[-.]+$/, '');
  return `${keep}-${hash}${suffix}`;
}

export const plotPath = (id: string): string => `/${id}/hzz_m4l.png`;

/** Selects the Jobs (and their pods) of one plan: the /scale subresource's selector. */
export function planSelector(analysis: string, generation: number): string {
  return `${LABELS.analysis}=${analysis},${LABELS.generation}=${generation}`;
}

/** The owner reference that ties an object to its analysis: garbage collection deletes it with the analysis. */
export function controllerRef(owner: { apiVersion: string; kind: string; metadata: { name: string; uid: string } }): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Objects left by an earlier analysis of the same name carry its uid; they are not ours (the GC removes them). */
export function isControlledBy(obj: KubeObject, uid: string): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === uid);
}
