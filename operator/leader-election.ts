import { isNotFound, KubeError, type KubeClient } from './kube-client.js';
import type { ObjectMeta } from './kube-types.js';

/**
 * Leader election through a coordination.k8s.io/v1 Lease, the way client-go's leaderelection
 * package does it, so that several operator replicas can run and exactly one reconciles. The
 * leader renews the Lease every retry period; a candidate takes it over once it has seen the same
 * record, unrenewed, for a whole lease duration, measured on its own clock (so the holder's
 * clock never matters); a leader that cannot renew within the renew deadline stops leading. Every
 * write carries the resourceVersion it read, so of two candidates racing for a Lease one wins and
 * the other gets a conflict.
 */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: ObjectMeta;
  spec?: LeaseSpec;
}

export interface ElectionTiming {
  /** How long a record must stay unrenewed before a candidate takes the Lease over. */
  leaseDurationMs: number;
  /** How long a leader keeps trying to renew before it stops leading. */
  renewDeadlineMs: number;
  /** Between attempts, for the leader (renewing) and the candidates (watching). */
  retryPeriodMs: number;
}

/** When this candidate first saw the Lease's current record: the start of that record's lease. */
export interface Observation { record: string; sinceMs: number }

export type LeaseStep =
  | { kind: 'create'; spec: LeaseSpec }
  | { kind: 'update'; spec: LeaseSpec; takeOver: boolean }
  | { kind: 'wait'; holder: string };

/** Pure: what candidate `me` does with the Lease as found (absent: undefined) at local time `nowMs`. */
export function leaseStep(lease: Lease | undefined, observed: Observation | undefined, me: string, nowMs: number, timing: ElectionTiming): LeaseStep {
  const now = microTime(nowMs);
  const fresh: LeaseSpec = { holderIdentity: me, leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000), acquireTime: now, renewTime: now };
  if (!lease) return { kind: 'create', spec: { ...fresh, leaseTransitions: 0 } };
  const spec = lease.spec ?? {};
  if (spec.holderIdentity === me) return { kind: 'update', spec: { ...spec, ...fresh, acquireTime: spec.acquireTime ?? now }, takeOver: false };
  const expired = !spec.holderIdentity || (observed !== undefined && observed.record === recordOf(lease) && nowMs - observed.sinceMs > timing.leaseDurationMs);
  if (expired) return { kind: 'update', spec: { ...fresh, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }, takeOver: true };
  return { kind: 'wait', holder: spec.holderIdentity! };
}

/** What changes whenever the holder renews: a candidate's lease clock restarts on a new record. */
export const recordOf = (lease: Lease): string => `${lease.spec?.holderIdentity ?? ''}|${lease.spec?.renewTime ?? ''}|${lease.spec?.leaseTransitions ?? 0}`;

// The Lease's MicroTime: RFC 3339 with six fractional digits.
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const leasePath = (namespace: string, name?: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;

export interface ElectorOptions {
  namespace: string;
  name: string;
  identity: string;
  timing: ElectionTiming;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export class LeaderElector {
  private observed: Observation | undefined;
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The read-and-write round in flight: stop() lets it finish, so that its release is the last write. */
  private round: Promise<boolean> | undefined;

  constructor(private readonly client: KubeClient, private readonly opts: ElectorOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Resolves once this replica leads, then keeps renewing in the background; `onLost` is called
   * once if renewing fails for the renew deadline or another replica holds the Lease. Resolves
   * false if stop() came first.
   */
  async lead(onLost: () => void): Promise<boolean> {
    while (!this.stopped && !(await this.attempt().catch((err: unknown) => {
      this.opts.log('cannot read or write the lease; trying again', { error: (err as Error).message });
      return false;
    }))) await this.pause(this.opts.timing.retryPeriodMs);
    if (this.stopped) return false;
    void this.renewLoop(onLost);
    return true;
  }

  /** Stops electing; a leader gives the Lease up, so a standby takes over without waiting it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // No round starts after `stopped`; one in flight may still acquire or renew, then is released.
    await this.round?.catch(() => false);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get<Lease>(leasePath(this.opts.namespace, this.opts.name));
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      const now = microTime(Date.now());
      await this.client.replace(leasePath(this.opts.namespace, this.opts.name), { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now } });
      this.opts.log('leadership released', { lease: this.opts.name });
    } catch (err) {
      this.opts.log('could not release the lease; it expires by itself', { error: (err as Error).message });
    }
  }

  private async renewLoop(onLost: () => void): Promise<void> {
    let lastRenewMs = Date.now();
    while (!this.stopped) {
      await this.pause(this.opts.timing.retryPeriodMs);
      if (this.stopped) return;
      let held: boolean;
      try {
        held = await this.attempt();
      } catch (err) {
        this.opts.log('lease renewal failed', { error: (err as Error).message });
        held = Date.now() - lastRenewMs < this.opts.timing.renewDeadlineMs;
        if (held) continue;
      }
      if (this.stopped) return;
      if (!held) {
        this.leading = false;
        this.opts.log('leadership lost', { lease: this.opts.name });
        onLost();
        return;
      }
      lastRenewMs = Date.now();
    }
  }

  private attempt(): Promise<boolean> {
    this.round = this.tryAcquireOrRenew();
    return this.round;
  }

  /** One round: read the Lease and act on it. True when this replica holds it afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, timing } = this.opts;
    let lease: Lease | undefined;
    try {
      lease = await this.client.get<Lease>(leasePath(namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const now = Date.now();
    if (lease && recordOf(lease) !== this.observed?.record) this.observed = { record: recordOf(lease), sinceMs: now };
    const step = leaseStep(lease, this.observed, identity, now, timing);
    if (step.kind === 'wait') return false;
    try {
      if (step.kind === 'create') {
        await this.client.create(leasePath(namespace), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: step.spec });
      } else {
        await this.client.replace(leasePath(namespace, name), { ...lease!, spec: step.spec });
      }
    } catch (err) {
      // Another candidate wrote first (AlreadyExists, Conflict): it leads, this one goes on watching.
      if (err instanceof KubeError && err.status === 409) return false;
      throw err;
    }
    if (!this.leading) this.opts.log('leadership acquired', { lease: name, identity, takeOver: step.kind === 'update' && step.takeOver });
    this.leading = true;
    return true;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
