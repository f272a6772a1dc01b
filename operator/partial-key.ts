import { derivePartialKey } from '../core/contracts/partial-signature.js';
import type { HZZAnalysis } from './api/v1alpha1.js';
import type { KubeAdapter } from './kube-adapter.js';
import type { Secret } from './kube-types.js';
import { LABELS, MANAGER, controllerRef, isControlledBy, partialKeySecretName } from './naming.js';

/**
 * Each analysis's partial key (core/contracts/partial-signature.ts) lives in a Secret of its own
 * namespace, `<analysis>-partial-key`, owned by the analysis (the garbage collector deletes it
 * with it), from which the chunk pods take HZZ_PARTIAL_KEY by secretKeyRef: the key is never in a
 * Job, a pod spec or the plan ConfigMap, and a chunk pod of one analysis holds that analysis's key
 * only. The key is derived from the operator's master key and the analysis's uid, so the Secret's
 * content is known without reading it back, and a Secret that holds anything else is wrong.
 */
export const PARTIAL_KEY_SECRET_KEY = 'key';

export function analysisPartialKey(analysis: HZZAnalysis, masterKey: string): string {
  return derivePartialKey(masterKey, analysis.metadata.uid);
}

export function partialKeySecret(analysis: HZZAnalysis, key: string): Secret {
  const { name, namespace } = analysis.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: partialKeySecretName(name),
      namespace,
      labels: { [LABELS.analysis]: name, [LABELS.managedBy]: MANAGER, [LABELS.component]: 'partial-key' },
      ownerReferences: [controllerRef(analysis)],
    },
    type: 'Opaque',
    // The key never changes for the analysis's lifetime; immutable also spares the kubelets a watch.
    immutable: true,
    data: { [PARTIAL_KEY_SECRET_KEY]: Buffer.from(key).toString('base64') },
  };
}

/** Why an existing Secret is not the one `wanted` describes, or undefined when it is. */
export function partialKeySecretProblem(existing: Secret, wanted: Secret, ownerUid: string): string | undefined {
  const name = `Secret ${existing.metadata.namespace}/${existing.metadata.name}`;
  if (!isControlledBy(existing, ownerUid)) return `${name} is not this analysis's (no controller reference to uid ${ownerUid})`;
  if (existing.data?.[PARTIAL_KEY_SECRET_KEY] !== wanted.data![PARTIAL_KEY_SECRET_KEY]) return `${name} holds another key than the one derived for this analysis`;
  return undefined;
}

/**
 * Makes the analysis's Secret hold what `wanted` says: created when missing; one that is not the
 * analysis's or holds another key (edited, or made before the analysis by someone else) is
 * deleted and made again, since chunk pods that signed with a wrong key would have every partial
 * refused. What was wrong with the one replaced, for an Event; undefined when nothing was.
 */
export async function ensurePartialKeySecret(kube: KubeAdapter, wanted: Secret, ownerUid: string): Promise<string | undefined> {
  const { namespace, name } = wanted.metadata as { namespace: string; name: string };
  const existing = await kube.getSecret(namespace, name);
  const problem = existing && partialKeySecretProblem(existing, wanted, ownerUid);
  if (existing && !problem) return undefined;
  if (existing) await kube.deleteSecret(namespace, name);
  // Still there after the delete (a finalizer, a racing writer): the work queue tries again later.
  if (!(await kube.createSecret(wanted))) throw new Error(`Secret ${namespace}/${name} could not be replaced: ${problem ?? 'it appeared while being created'}`);
  return problem;
}
