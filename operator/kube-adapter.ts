import { hostname } from 'node:os';
import { API_VERSION, PLURAL, type AnalysisStatus, type HZZAnalysis } from './api/v1alpha1.js';
import { isAlreadyExists, isNotFound, type KubeClient } from './kube-client.js';
import type { ConfigMap, Job, KubeList, Pod, Secret } from './kube-types.js';
import { MANAGER } from './naming.js';
import type { EventSpec } from './reconcile.js';

/**
 * Every API call the operator makes, in one place: this list is the operator's RBAC
 * (docs/operator.md). Creating what exists already and deleting what is gone are not errors:
 * after a restart or a lost response both are the expected answers.
 */
const ns = (namespace: string) => `/namespaces/${encodeURIComponent(namespace)}`;

export const paths = {
  analyses: (namespace?: string) => `/apis/${API_VERSION}${namespace ? ns(namespace) : ''}/${PLURAL}`,
  analysis: (namespace: string, name: string) => `/apis/${API_VERSION}${ns(namespace)}/${PLURAL}/${encodeURIComponent(name)}`,
  jobs: (namespace?: string) => `/apis/batch/v1${namespace ? ns(namespace) : ''}/jobs`,
  configMaps: (namespace?: string) => `/api/v1${namespace ? ns(namespace) : ''}/configmaps`,
  pods: (namespace: string) => `/api/v1${ns(namespace)}/pods`,
  secrets: (namespace: string) => `/api/v1${ns(namespace)}/secrets`,
  events: (namespace: string) => `/apis/events.k8s.io/v1${ns(namespace)}/events`,
};

export class KubeAdapter {
  private readonly instance = `${MANAGER}-${hostname()}`;
  private sequence = 0;

  constructor(readonly client: KubeClient) {}

  /** The analysis as stored after the patch. */
  patchStatus(a: HZZAnalysis, status: AnalysisStatus): Promise<HZZAnalysis> {
    // A merge patch replaces lists whole, so conditions are written as computed.
    return this.client.mergePatch(`${paths.analysis(a.metadata.namespace, a.metadata.name)}/status`, { status });
  }

  async listPods(namespace: string, labelSelector: string): Promise<Pod[]> {
    return (await this.client.get<KubeList<Pod>>(paths.pods(namespace), { labelSelector })).items;
  }

  /** The Job as the API server stored it if created now, undefined if it existed already. */
  createJob(job: Job): Promise<Job | undefined> {
    return this.createOnce(paths.jobs(job.metadata.namespace!), job);
  }

  createConfigMap(cm: ConfigMap): Promise<ConfigMap | undefined> {
    return this.createOnce(paths.configMaps(cm.metadata.namespace!), cm);
  }

  annotateConfigMap(namespace: string, name: string, annotations: Record<string, string>): Promise<ConfigMap> {
    return this.client.mergePatch(`${paths.configMaps(namespace)}/${encodeURIComponent(name)}`, { metadata: { annotations } });
  }

  getSecret(namespace: string, name: string): Promise<Secret | undefined> {
    return this.getOnce<Secret>(`${paths.secrets(namespace)}/${encodeURIComponent(name)}`);
  }

  createSecret(secret: Secret): Promise<Secret | undefined> {
    return this.createOnce(paths.secrets(secret.metadata.namespace!), secret);
  }

  deleteSecret(namespace: string, name: string): Promise<void> {
    return this.deleteOnce(`${paths.secrets(namespace)}/${encodeURIComponent(name)}`);
  }

  /** Background propagation: the Job goes at once, the garbage collector removes its pods. */
  deleteJob(namespace: string, name: string): Promise<void> {
    return this.deleteOnce(`${paths.jobs(namespace)}/${encodeURIComponent(name)}`);
  }

  deleteConfigMap(namespace: string, name: string): Promise<void> {
    return this.deleteOnce(`${paths.configMaps(namespace)}/${encodeURIComponent(name)}`);
  }

  async event(a: HZZAnalysis, e: EventSpec): Promise<void> {
    const now = new Date().toISOString();
    await this.client.create(paths.events(a.metadata.namespace), {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go's naming, the object's name and a time in hex (generateName may not end in '.');
      // the sequence number keeps two events of the same millisecond apart.
      metadata: { name: `${a.metadata.name}.${Date.now().toString(16)}${(this.sequence++ % 4096).toString(16).padStart(3, '0')}`, namespace: a.metadata.namespace },
      eventTime: now.replace('Z', '000Z'),
      reportingController: `${API_VERSION.split('/')[0]}/${MANAGER}`,
      reportingInstance: this.instance.slice(0, 128),
      action: 'Reconcile',
      type: e.type,
      reason: e.reason,
      note: e.message.slice(0, 1024),
      regarding: { apiVersion: a.apiVersion, kind: a.kind, namespace: a.metadata.namespace, name: a.metadata.name, uid: a.metadata.uid, resourceVersion: a.metadata.resourceVersion },
    });
  }

  private async getOnce<T>(path: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async createOnce<T>(path: string, body: T): Promise<T | undefined> {
    try {
      return await this.client.create<T>(path, body);
    } catch (err) {
      if (isAlreadyExists(err)) return undefined;
      throw err;
    }
  }

  private async deleteOnce(path: string): Promise<void> {
    try {
      await this.client.delete(path, { propagationPolicy: 'Background' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
