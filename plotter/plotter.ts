import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { analysisDir } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import type { MergedHistograms } from '../core/merge.js';
import { SERVICE_BACKOFF } from '../core/util/backoff.js';
import { silentLog, type Log } from '../core/util/log.js';
import type { BrokerAddress } from '../transport/broker-address.js';
import { BrokerConnection } from '../transport/connection.js';
import { QueueConsumer } from '../transport/consumer.js';
import { ConfirmPublisher } from '../transport/publisher.js';
import { declareTopologyOn, TOPOLOGY, type Topology } from '../transport/topology.js';
import { Analyses } from './analyses.js';
import type { AnalysisProgress } from './analysis-state.js';
import { createPlotterServer } from './http-api.js';
import { Inbox, type InboxOptions } from './inbox.js';
import { DEFAULT_ORPHAN_LIMITS, type OrphanLimits } from './orphans.js';
import { SerialWork } from './serial-work.js';

/**
 * The plotter service: consumes plans and partials, stores each in the output folder, and redraws
 * each analysis's outputs as its chunks come in. The folder is the state: it is read back at
 * start-up, so the plotter can be killed at any moment. A message is acked only after its file is
 * written; one killed in between is redelivered and overwrites its own file, so nothing counts twice.
 * This module wires the parts (inbox.ts: what comes in; analyses.ts: what is stored and drawn) to
 * the broker and the HTTP API, and starts and stops them.
 *
 * Events: 'plan' (id), 'partial' (PartialEvent), 'rejected' (RejectedEvent), both in inbox.ts;
 * 'drawn' (progress), 'complete' (progress).
 */
export interface PlotterOptions {
  /** The output root; each analysis lands in <out>/<id>/. */
  out: string;
  /** The broker to consume from; null runs without one (to serve old results). */
  broker: BrokerAddress | null;
  /** HTTP port (0 picks a free one); null: no HTTP server. */
  port?: number | null;
  host?: string | undefined;
  /** Unacked partials held at once. */
  prefetch?: number | undefined;
  /** Minimum time between two redraws of one analysis (the final one is never delayed). */
  drawIntervalMs?: number;
  log?: Log;
  /** How much of partials without a plan is held, and how long (orphans.ts). */
  orphanLimits?: OrphanLimits | undefined;
  /** The broker objects to declare and consume: a local run's own; by default the installation's. */
  topology?: Topology;
  /** Fault injection, for the tests that kill a plotter at a chosen moment; never set in production. */
  faults?: InboxOptions['faults'];
}

const PLAN_PREFETCH = 4;

export class Plotter extends EventEmitter {
  private readonly work = new SerialWork();
  private readonly analyses: Analyses;
  private readonly inbox: Inbox;
  private readonly log: Log;
  private connection: BrokerConnection | undefined;
  private consumers: QueueConsumer[] = [];
  private server: Server | undefined;
  private stopping = false;
  /** What it has done, for its logs (and the tests); not the state, which is the folder. */
  readonly counters = { deliveries: 0, redelivered: 0, partialsStored: 0, copiesDropped: 0, plansStored: 0, rejected: 0, orphansDeadLettered: 0 };
  private readonly health: { writeError?: string | undefined } = {};
  readonly topology: Topology;

  private constructor(private readonly opts: PlotterOptions) {
    super();
    this.log = opts.log ?? silentLog;
    this.topology = opts.topology ?? TOPOLOGY;
    const shared = { work: this.work, events: this, counters: this.counters, log: this.log };
    this.analyses = new Analyses({
      ...shared, out: opts.out, drawIntervalMs: opts.drawIntervalMs ?? 1000, health: this.health, topology: this.topology, orphanLimits: opts.orphanLimits ?? DEFAULT_ORPHAN_LIMITS,
    });
    this.inbox = new Inbox({ ...shared, analyses: this.analyses, topology: this.topology, faults: opts.faults });
  }

  static async start(opts: PlotterOptions): Promise<Plotter> {
    const p = new Plotter(opts);
    mkdirSync(opts.out, { recursive: true });
    p.analyses.rebuild();
    if (opts.port !== null && opts.port !== undefined) await p.listen(opts.port);
    if (opts.broker) p.consume(opts.broker);
    return p;
  }

  /** The HTTP port, when serving. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  ready(): { ready: boolean; reason?: string } {
    if (this.stopping) return { ready: false, reason: 'stopping' };
    // Taking messages it cannot store would only requeue them: a full volume is for people to see.
    if (this.health.writeError) return { ready: false, reason: `cannot write to the output folder: ${this.health.writeError}` };
    if (!this.connection) return { ready: false, reason: 'no broker configured' };
    if (!this.connection.connected) return { ready: false, reason: `not connected to ${this.connection.address}` };
    const idle = this.consumers.find((c) => !c.consuming);
    return idle ? { ready: false, reason: 'not consuming yet' } : { ready: true };
  }

  status(id: string): AnalysisProgress | undefined {
    return this.analyses.progress(id);
  }

  statuses(): AnalysisProgress[] {
    return this.analyses.all();
  }

  /** The merged result of an analysis's counted partials, as last stored. */
  results(id: string): MergedHistograms | undefined {
    return this.analyses.results(id);
  }

  /** Resolves once every chunk of the analysis is in and drawn; rejects when its drawing failed for good. */
  async waitForComplete(id: string, timeoutMs = 60_000): Promise<AnalysisProgress> {
    const s = await this.waitFor(() => { const s = this.status(id); return s?.complete || s?.failed ? s : undefined; }, 'drawn', timeoutMs, `analysis ${id} to complete`);
    if (s.failed) throw new Error(`analysis ${id} failed: ${s.failed}`);
    return s;
  }

  /** Resolves once every listed chunk of the analysis is stored (counted or not). */
  async waitForChunks(id: string, indices: readonly number[], timeoutMs = 60_000): Promise<void> {
    await this.waitFor(() => this.analyses.holds(id, indices), 'partial', timeoutMs, `${indices.length} chunks of ${id}`);
  }

  /** Draws an analysis now, whatever the throttle says (e.g. a run ending with chunks missing). */
  flush(id: string): Promise<AnalysisProgress | undefined> {
    return this.work.run(() => { this.analyses.draw(id); return this.status(id); });
  }

  /** Finishes the work at hand, draws what is pending, and lets go of the broker and the port. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.consumers.map((c) => c.cancel()));
    await this.work.idle();
    await this.analyses.drawPendingAndStop();
    await Promise.all(this.consumers.map((c) => c.close()));
    await this.connection?.close();
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    }
    this.log('stopped', { ...this.counters, connects: this.connection?.connects ?? 0 });
  }

  private async listen(port: number): Promise<void> {
    const server = createPlotterServer({
      ready: () => this.ready(),
      statuses: () => this.statuses(),
      status: (id) => this.status(id),
      dir: (id) => analysisDir(this.opts.out, id),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host ?? '0.0.0.0', () => resolve());
    });
    this.server = server;
    this.log('listening', { port: this.port });
  }

  private consume(broker: BrokerAddress): void {
    const conn = new BrokerConnection({ address: broker, name: `hzz-plotter ${hostname()}`, retry: SERVICE_BACKOFF, log: this.log });
    this.connection = conn;
    const t = this.topology;
    void conn.addSetup((model) => declareTopologyOn(model, t));
    const deadLetters = new ConfirmPublisher(conn, { initialMs: 200, maxMs: 2_000, budgetMs: 15_000 });
    const handle = this.inbox.deliveries(deadLetters);
    this.analyses.sweepOrphans(deadLetters);
    this.consumers = [
      new QueueConsumer(conn, { queue: t.queues.plans, prefetch: PLAN_PREFETCH, handle, log: this.log }),
      new QueueConsumer(conn, { queue: t.queues.partials, prefetch: this.opts.prefetch ?? 16, handle, log: this.log }),
    ];
    for (const c of this.consumers) void c.start();
    // A service never gives up on its broker (the budget is infinite); close() ends the loop.
    conn.start().catch((err) => { if (!this.stopping) this.log('broker connection ended', { error: errorMessage(err) }); });
  }

  /** Resolves with what `probe` finds, checking now and after each `event`. */
  private waitFor<T>(probe: () => T | undefined | false, event: string, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = probe();
        if (v === undefined || v === false) return;
        cleanup();
        resolve(v);
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off(event, check);
      };
      this.on(event, check);
      check();
    });
  }
}

export const startPlotter = (opts: PlotterOptions): Promise<Plotter> => Plotter.start(opts);
