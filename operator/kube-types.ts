/**
 * The parts of Kubernetes objects the operator reads and writes, as the API's JSON has them
 * (timestamps are RFC 3339 strings). Deliberately partial: fields not listed pass through untouched.
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** An object's `namespace/name`: its key in an informer's store and on the work queue. */
export const namespacedName = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export interface KubeList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Job extends KubeObject {
  spec?: Record<string, unknown>;
  status?: {
    active?: number;
    ready?: number;
    succeeded?: number;
    failed?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: JobCondition[];
  };
}

export interface ContainerStateTerminated {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    containers: {
      name: string;
      image?: string;
      command?: string[];
      args?: string[];
      workingDir?: string;
      env?: EnvVar[];
      volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
    }[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean }; emptyDir?: { sizeLimit?: string } }[];
  };
  status?: {
    phase?: string;
    containerStatuses?: { name: string; state?: { terminated?: ContainerStateTerminated } }[];
  };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface Secret extends KubeObject {
  type?: string;
  immutable?: boolean;
  /** Values base64-encoded, as the API serves them. */
  data?: Record<string, string>;
}
