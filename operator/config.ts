import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { PACKAGE_VERSION } from '../core/version.js';
import type { ElectionTiming } from './leader-election.js';

/**
 * The operator's settings (`hzz operator` flags, or the HZZ_* environment variables the Helm chart
 * sets), and the parsing of their text forms.
 */
export interface OperatorOptions {
  /** A kubeconfig file; default: $KUBECONFIG, ~/.kube/config, or the pod's service account. */
  kubeconfig?: string | undefined;
  /** Watch one namespace; all when undefined. */
  namespace?: string | undefined;
  workerImage: string;
  workerCommand: string[];
  workerServiceAccount?: string | undefined;
  /** The Secret (in each analysis's namespace) whose key holds the workers' HZZ_AMQP_URL. */
  amqpSecret: { name: string; key: string };
  /** What every analysis's partial key is derived from (derivePartialKey). */
  partialMasterKey: string;
  /** PVCs the operator has mounted, by name: where it reads their files, and where workers mount them. */
  dataPvcs: Map<string, string>;
  /** Where spec.source.urlPrefix may point; undefined: the official servers (planner.ts). */
  allowedUrlPrefixes?: string[] | undefined;
  /** A failed chunk's next attempt waits retryBackoffSeconds × 2^attempt, at most 5 minutes. */
  retryBackoffSeconds: number;
  /** The plotter's HTTP API, from which completion is taken (its Service in the chart). */
  plotterUrl: string;
  /** How long the plotter may lack chunks whose Jobs succeeded, its count unchanged, before they run again. */
  partialsGraceSeconds: number;
  resyncSeconds: number;
  workers: number;
  /** Port of /healthz and /readyz; 0 picks a free one. */
  healthPort: number;
  /** Run as one of several replicas, leading through this Lease; undefined: reconcile at once, alone. */
  leaderElection?: { namespace: string; name: string; identity: string; timing: ElectionTiming } | undefined;
}

export const DEFAULT_WORKER_IMAGE = `hzz-operator:${PACKAGE_VERSION}`;
export const DEFAULT_WORKER_COMMAND = ['hzz', 'worker'];

/**
 * The master key comes from the environment only (the chart: a Secret it generates), never from a
 * flag, which any user of the node could read in the process list.
 */
export const PARTIAL_MASTER_KEY_ENV = 'HZZ_PARTIAL_MASTER_KEY';
const MIN_MASTER_KEY_LENGTH = 32;

export function parseMasterKey(text: string | undefined): string {
  const problem = !text ? 'is not set' : text.length < MIN_MASTER_KEY_LENGTH ? `has ${text.length} characters, fewer than ${MIN_MASTER_KEY_LENGTH}` : undefined;
  if (problem) {
    throw new Error(`${PARTIAL_MASTER_KEY_ENV} ${problem}: the operator derives each analysis's partial key from it (the chart generates one; elsewhere e.g. \`openssl rand -hex 32\`)`);
  }
  return text!;
}

/** `NAME=DIR` entries (flags, or one comma-separated variable). */
export function parseDataPvcs(entries: readonly string[]): Map<string, string> {
  const pvcs = new Map<string, string>();
  for (const entry of entries.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const [name, dir] = [entry.slice(0, eq), entry.slice(eq + 1)];
    if (eq <= 0 || !isAbsolute(dir)) throw new Error(`--data-pvc wants NAME=/absolute/dir (got '${entry}')`);
    pvcs.set(name, dir);
  }
  return pvcs;
}

/** URL prefixes (flags, or one comma-separated variable); each must be an http(s) URL. */
export function parseUrlPrefixes(entries: readonly string[]): string[] | undefined {
  const prefixes = entries.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  for (const p of prefixes) {
    if (!/^https?:\/\//i.test(p) || !URL.canParse(p)) throw new Error(`--allowed-url-prefix wants an http(s) URL (got '${p}')`);
  }
  return prefixes.length > 0 ? prefixes : undefined;
}

/** The leader election settings from the flags' seconds; the identity is unique per process. */
export function leaderElection(o: { namespace: string; name: string; podName: string; leaseDuration: number; renewDeadline: number; retryPeriod: number }): NonNullable<OperatorOptions['leaderElection']> {
  if (!(o.leaseDuration > o.renewDeadline && o.renewDeadline > o.retryPeriod && o.retryPeriod > 0)) {
    throw new Error(`leader election wants --lease-duration > --renew-deadline > --retry-period > 0 (got ${o.leaseDuration}, ${o.renewDeadline}, ${o.retryPeriod})`);
  }
  return {
    namespace: o.namespace, name: o.name, identity: `${o.podName}_${randomUUID().slice(0, 8)}`,
    timing: { leaseDurationMs: o.leaseDuration * 1000, renewDeadlineMs: o.renewDeadline * 1000, retryPeriodMs: o.retryPeriod * 1000 },
  };
}

/** The plotter's base URL: http(s), nothing after the path. */
export function parsePlotterUrl(text: string | undefined): string {
  if (!text) throw new Error('--plotter-url (or HZZ_PLOTTER_URL) is required: the operator takes completion from the plotter');
  if (!/^https?:\/\//i.test(text) || !URL.canParse(text) || /[?#]/.test(text)) throw new Error(`--plotter-url wants an http(s) URL without query (got '${text}')`);
  return text;
}

/** `NAME` or `NAME:KEY` (key default: url). */
export function parseSecretRef(text: string): { name: string; key: string } {
  const [name, key = 'url', ...rest] = text.split(':');
  if (!name || !key || rest.length > 0) throw new Error(`--worker-amqp-secret wants NAME or NAME:KEY (got '${text}')`);
  return { name, key };
}
