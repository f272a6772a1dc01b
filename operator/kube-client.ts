import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';

/**
 * The Kubernetes API as plain JSON over HTTP, authenticated by @kubernetes/client-node's
 * KubeConfig (the default loading rules: $KUBECONFIG, ~/.kube/config, in-cluster service account;
 * tokens, client certificates and exec plugins). Objects stay the API's own JSON: no generated
 * model classes, whose (de)serialisers turn timestamps into Dates and drop fields they do not know.
 */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    /** The Status object's reason: NotFound, AlreadyExists, Conflict, Expired, … */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeError && err.status === 404;
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeError && err.status === 409 && err.reason === 'AlreadyExists';

export type Query = Record<string, string | number | boolean | undefined>;

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

const REQUEST_TIMEOUT_MS = 30_000;
/** An idle connection is closed well before the API server's own idle timeout (Go's 90 s) would cut it. */
const IDLE_MS = 30_000;

export class KubeClient {
  /**
   * KubeConfig.applyToHTTPSOptions gives every request an Agent of its own, that is a TCP
   * connection and a TLS handshake of its own: with thousands of Jobs that was a handshake per API
   * call, and the dead connections' TLS state in the operator's memory until a full collection
   * (docs/performance.md, "The control plane at scale"). These agents keep connections open and
   * reuse them, as client-go does; they pool connections by the request's TLS options (CA, client
   * certificate and key, server name), so a rotated certificate still gets a connection of its own.
   */
  private readonly agents = { 'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }), 'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_MS }) };

  constructor(readonly config: KubeConfig) {}

  /** `path` given: that kubeconfig file; otherwise the default loading rules. */
  static load(path?: string): KubeClient {
    const kc = new KubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  get server(): string {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    return cluster.server;
  }

  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; contentType?: string } = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const options: RequestOptions = {
      method,
      headers: {
        Accept: 'application/json',
        ...(payload ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
      },
      timeout: REQUEST_TIMEOUT_MS,
    };
    await this.config.applyToHTTPSOptions(options);
    // A proxy's agent is the library's to make.
    if (!this.config.getCurrentCluster()?.proxyUrl) options.agent = this.agents[url.protocol as keyof KubeClient['agents']];
    const send = (): Promise<{ status: number; text: string }> => new Promise((resolve, reject) => {
      const onResponse = (r: IncomingMessage): void => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (text += d));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        r.on('error', reject);
      };
      const req = url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept connection the server closed just as it was reused: sent again, on another. Every
        // call is safe to repeat: a create comes back AlreadyExists, a delete NotFound (kube-adapter.ts),
        // a replace Conflict, a merge patch the same.
        if (req.reusedSocket && err.code === 'ECONNRESET') send().then(resolve, reject);
        else reject(err);
      });
      req.end(payload);
    });
    const res = await send();
    let body: unknown;
    try {
      body = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      body = undefined;
    }
    if (res.status >= 400) {
      const status = body as { reason?: string; message?: string } | undefined;
      throw new KubeError(res.status, status?.reason ?? `HTTP${res.status}`, `${method} ${path}: ${status?.message ?? (res.text.slice(0, 300) || `HTTP ${res.status}`)}`);
    }
    return body as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {});
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  /** PUT: the object's metadata.resourceVersion makes it fail with a conflict if it changed since. */
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' });
  }

  delete(path: string, options: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; gracePeriodSeconds?: number } = {}): Promise<unknown> {
    return this.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', ...options } });
  }

  /**
   * One watch request. Resolves with a function that ends it; `done` is called once when the
   * stream ends, with the error if it failed (the caller decides whether and how to watch again).
   */
  async watch(path: string, query: Query, onEvent: (e: WatchEvent) => void, done: (err?: unknown) => void): Promise<() => void> {
    const controller = await new Watch(this.config).watch(
      path,
      query,
      (type: string, object: unknown) => onEvent({ type: type as WatchEvent['type'], object }),
      (err: unknown) => done(err ?? undefined),
    );
    return () => controller.abort();
  }
}
