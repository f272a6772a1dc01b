import { NON_RETRYABLE_EXIT_CODES } from '../core/contracts/exit-codes.js';
import type { Task } from '../core/contracts/messages.js';
import { PARTIAL_KEY_ENV } from '../core/contracts/partial-signature.js';
import type { HZZAnalysis, ResolvedSpec } from './api/v1alpha1.js';
import type { Job } from './kube-types.js';
import { ANNOTATIONS, LABELS, MANAGER, controllerRef, jobName, partialKeySecretName } from './naming.js';
import { PARTIAL_KEY_SECRET_KEY } from './partial-key.js';
import type { Recipe } from './plan-store.js';

/**
 * The Job for one attempt at one chunk. Retries are the operator's (each attempt is a Job of its
 * own, `…-a<N>`), so the Job itself never retries: backoffLimit 0. Its podFailurePolicy still
 * matters: exit code 2 (bad input) fails the Job with reason PodFailurePolicy, which marks the
 * failure as final on the Job itself, and a pod evicted or preempted (DisruptionTarget) is
 * replaced by the Job controller without counting as an attempt.
 */
export interface WorkerConfig {
  /** Default image; spec.image overrides it. */
  image: string;
  command: readonly string[];
  /** Where workers find HZZ_AMQP_URL: a Secret in the analysis's namespace. */
  amqpSecret: { name: string; key: string };
  serviceAccountName?: string;
}

export const WORKER_CONTAINER = 'worker';
const DATA_VOLUME = 'data';
const TMP_VOLUME = 'tmp';

export interface ChunkJobInput {
  analysis: HZZAnalysis;
  spec: ResolvedSpec;
  generation: number;
  task: Task;
  attempt: number;
  /** The chunk's run: above 0 when it runs again because the plotter lacked its partial. */
  round?: number;
  recipe: Recipe;
  config: WorkerConfig;
}

export function chunkJob({ analysis, spec, generation, task, attempt, round = 0, recipe, config }: ChunkJobInput): Job {
  const { name, namespace } = analysis.metadata;
  const { chunk } = task;
  const labels = {
    [LABELS.analysis]: name,
    [LABELS.generation]: String(generation),
    [LABELS.chunk]: String(chunk.index),
    [LABELS.attempt]: String(attempt),
    [LABELS.round]: String(round),
    [LABELS.managedBy]: MANAGER,
    [LABELS.component]: 'worker',
  };
  const volume = recipe.volume;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(name, generation, chunk.index, attempt, round),
      namespace,
      labels,
      annotations: { [ANNOTATIONS.sample]: chunk.sample, [ANNOTATIONS.entries]: `${chunk.entryStart}-${chunk.entryStop}` },
      ownerReferences: [controllerRef(analysis)],
    },
    spec: {
      backoffLimit: 0,
      // A hung worker (a stalled remote read, say) would hold its parallelism slot for ever: the Job
      // controller stops it here, and the attempt counts as a retryable failure.
      activeDeadlineSeconds: spec.chunkTimeoutSeconds,
      podFailurePolicy: {
        rules: [
          { action: 'FailJob', onExitCodes: { containerName: WORKER_CONTAINER, operator: 'In', values: [...NON_RETRYABLE_EXIT_CODES] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // Workers talk to RabbitMQ only, never to the API server.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(config.serviceAccountName ? { serviceAccountName: config.serviceAccountName } : {}),
          // Pod Security "restricted": the hzz image runs as a numeric non-root user.
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: WORKER_CONTAINER,
            image: spec.image ?? config.image,
            imagePullPolicy: 'IfNotPresent',
            command: [...config.command],
            env: [
              { name: 'HZZ_TASK', value: JSON.stringify(task) },
              { name: 'HZZ_AMQP_URL', valueFrom: { secretKeyRef: { name: config.amqpSecret.name, key: config.amqpSecret.key } } },
              // By reference, so the key is in no Job or pod spec (operator/partial-key.ts).
              { name: PARTIAL_KEY_ENV, valueFrom: { secretKeyRef: { name: partialKeySecretName(name), key: PARTIAL_KEY_SECRET_KEY } } },
            ],
            ...(spec.resources ? { resources: spec.resources } : {}),
            // The worker writes its outcome there; with nothing written, the log's tail stands in.
            terminationMessagePolicy: 'FallbackToLogsOnError',
            // A worker writes nothing but its termination message (a kubelet mount) and scratch in /tmp.
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              ...(volume ? [{ name: DATA_VOLUME, mountPath: volume.mountPath, readOnly: true }] : []),
              { name: TMP_VOLUME, mountPath: '/tmp' },
            ],
          }],
          volumes: [
            ...(volume ? [{ name: DATA_VOLUME, persistentVolumeClaim: { claimName: volume.pvc, readOnly: true } }] : []),
            { name: TMP_VOLUME, emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
}
