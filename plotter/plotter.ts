import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { errorMessage } from '../core/contracts/errors.js';
import { canonicalJson } from '../core/util/canonical-json.js';
import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import type { MergedHistograms } from '../core/merge.js';
import { writeOutputs } from '../core/outputs.js';
import { SERVICE_BACKOFF, sleep } from '../core/util/backoff.js';
import type { BrokerAddress } from '../transport/broker-address.js';
import { BrokerConnection } from '../transport/connection.js';
import { QueueConsumer, type Delivery } from '../transport/consumer.js';
import { deadLetter } from '../transport/dead-letter.js';
import { silentLog, type Log } from '../core/util/log.js';
import { ConfirmPublisher } from '../transport/publisher.js';
import { declareTopologyOn, QUEUES } from '../transport/topology.js';
import { analysisDir } from '../core/contracts/analysis-id.js';
import { AnalysisState, type AnalysisProgress } from './analysis-state.js';
import { createPlotterServer } from './http-api.js';
import { parsePartial, parsePlan, partialMismatch, type Checked } from './message-checks.js';
import { loadPartials, scanOutputRoot, storePartial, storePlan, storeStatus } from './output-store.js';
import { SerialWork } from './serial-work.js';
import { KeyedThrottle } from './throttle.js';

/**
 * The plotter: consumes plans and partials, stores each in the output folder, and redraws each
 * analysis's outputs as its chunks come in. The folder is the state: it is read back at start-up,
 * so the plotter can be killed at any moment. A message is acked only after its file is written;
 * one killed in between is redelivered and overwrites its own file, so nothing counts twice.
 *
 * Events: 'plan' (id), 'partial' ({analysis, chunk, redelivered}), 'rejected' ({queue, reason}),
 * 'drawn' (status), 'complete' (status).
 */
export interface PlotterOptions {
  /** The output root; each analysis lands in <out>/<id>/. */
  out: string;
  /** The broker to consume from; null runs without one (HTTP plans only, e.g. to serve old results). */
  broker: BrokerAddress | null;
  /** HTTP port (0 picks a free one); null: no HTTP server. */
  port?: number | null;
  host?: string;
  /** Unacked partials held at once. */
  prefetch?: number;
  /** Minimum time between two redraws of one analysis (the final one is never delayed). */
  drawIntervalMs?: number;
  log?: Log;
  /** Fault injection, for the tests that kill a plotter at a chosen moment; never set in production. */
  faults?: {
    /** Store partials but never ack them, as if the process died just before the ack. */
    holdAcks?: boolean;
    /** Pause before handling each message, to make a run slow enough to interrupt. */
    delayPerMessageMs?: number;
  };
}

export interface PartialEvent {
  analysis: string;
  chunk: number;
  redelivered: boolean;
}

export interface RejectedEvent {
  queue: string;
  reason: string;
  /** When the message was readable enough to tell. */
  analysis?: string;
}

const PLAN_PREFETCH = 4;

export class Plotter extends EventEmitter {
  private readonly states = new Map<string, AnalysisState>();
  private readonly work = new SerialWork();
  private readonly throttle: KeyedThrottle;
  private readonly log: Log;
  private connection: BrokerConnection | undefined;
  private consumers: QueueConsumer[] = [];
  private deadLetters: ConfirmPublisher | undefined;
  private server: Server | undefined;
  private stopping = false;
  /** Counters for tests and logs; they are not the state (the folder is). */
  readonly counters = { deliveries: 0, redelivered: 0, partialsStored: 0, copiesDropped: 0, plansStored: 0, rejected: 0 };

  private constructor(private readonly opts: PlotterOptions) {
    super();
    this.log = opts.log ?? silentLog;
    this.throttle = new KeyedThrottle(opts.drawIntervalMs ?? 1000, (id) => {
      this.work.run(() => this.draw(id)).catch((err) => this.log('drawing failed', { analysis: id, error: errorMessage(err) }));
    });
  }

  static async start(opts: PlotterOptions): Promise<Plotter> {
    const p = new Plotter(opts);
    await p.begin();
    return p;
  }

  /** The HTTP port, when serving. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  get connections(): number {
    return this.connection?.connects ?? 0;
  }

  ready(): { ready: boolean; reason?: string } {
    if (this.stopping) return { ready: false, reason: 'stopping' };
    if (!this.connection) return { ready: false, reason: 'no broker configured' };
    if (!this.connection.connected) return { ready: false, reason: `not connected to ${this.connection.address}` };
    const idle = this.consumers.find((c) => !c.consuming);
    return idle ? { ready: false, reason: 'not consuming yet' } : { ready: true };
  }

  whenReady(timeoutMs = 30_000): Promise<void> {
    return this.waitFor(() => this.ready().ready, ['ready-changed'], timeoutMs, 'the plotter to be ready').then(() => {});
  }

  status(id: string): AnalysisProgress | undefined {
    return this.states.get(id)?.status();
  }

  statuses(): AnalysisProgress[] {
    return [...this.states.values()].map((s) => s.status());
  }

  /** The merged result of an analysis's counted partials, as last stored. */
  results(id: string): MergedHistograms | undefined {
    const s = this.states.get(id);
    return s?.isRetired ? s.results(loadPartials(id, s.dir, (msg, fields) => this.log(msg, fields))) : s?.results();
  }

  /** Resolves once every chunk of the analysis is in and drawn. */
  waitForComplete(id: string, timeoutMs = 60_000): Promise<AnalysisProgress> {
    return this.waitFor(() => (this.status(id)?.complete ? this.status(id) : undefined), ['complete'], timeoutMs, `analysis ${id} to complete`);
  }

  /** Resolves once every listed chunk of the analysis is stored (counted or not). */
  waitForChunks(id: string, indices: readonly number[], timeoutMs = 60_000): Promise<void> {
    const has = (): boolean => {
      const s = this.states.get(id);
      return s !== undefined && indices.every((i) => s.has(i));
    };
    return this.waitFor(has, ['partial'], timeoutMs, `${indices.length} chunks of ${id}`).then(() => {});
  }

  /** Draws an analysis now, whatever the throttle says (e.g. a run ending with chunks missing). */
  flush(id: string): Promise<AnalysisProgress | undefined> {
    return this.work.run(() => { this.draw(id); return this.status(id); });
  }

  /** A plan handed over directly (HTTP); the same checks and storage as one from the queue. */
  acceptPlan(doc: unknown, expectedId?: string): Promise<{ ok: true; created: boolean; status: AnalysisProgress } | { ok: false; conflict: boolean; reason: string }> {
    return this.work.run(() => {
      const parsed = parsePlan(doc);
      if (!parsed.ok) return { ok: false as const, conflict: false, reason: parsed.reason };
      if (expectedId !== undefined && parsed.value.analysis !== expectedId) return { ok: false as const, conflict: false, reason: `plan is for '${parsed.value.analysis}', not '${expectedId}'` };
      const r = this.storePlanDoc(parsed.value);
      if (!r.ok) return { ok: false as const, conflict: true, reason: r.reason };
      return { ok: true as const, created: r.value, status: this.status(parsed.value.analysis)! };
    });
  }

  /** Finishes the work at hand, draws what is pending, and lets go of the broker and the port. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.emit('ready-changed');
    await Promise.all(this.consumers.map((c) => c.cancel()));
    await this.work.idle();
    for (const s of this.states.values()) if (s.plan && s.drawnDone !== s.done) await this.work.run(() => this.draw(s.id)).catch(() => {});
    this.throttle.stop();
    await Promise.all(this.consumers.map((c) => c.close()));
    await this.connection?.close();
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    }
  }

  private async begin(): Promise<void> {
    mkdirSync(this.opts.out, { recursive: true });
    this.rebuild();
    if (this.opts.port !== null && this.opts.port !== undefined) await this.listen(this.opts.port);
    if (this.opts.broker) this.consume(this.opts.broker);
  }

  /** Everything the plotter knew before it stopped is in the folder; outputs that lag behind are redrawn. */
  private rebuild(): void {
    const found = scanOutputRoot(this.opts.out, (msg, fields) => this.log(msg, fields));
    for (const a of found) {
      const s = new AnalysisState(a.id, a.dir);
      if (a.plan) s.plan = a.plan;
      for (const p of a.partials) s.partials.set(p.chunk.index, p);
      const onDisk = a.status as Partial<AnalysisProgress> | undefined;
      if (a.complete) s.retire(Array.isArray(onDisk?.inconsistent) ? onDisk.inconsistent.filter(Number.isInteger) : []);
      this.states.set(a.id, s);
      if (typeof onDisk?.updatedAt === 'string' && !Number.isNaN(Date.parse(onDisk.updatedAt))) s.updatedAt = new Date(onDisk.updatedAt);
      if (s.plan && onDisk?.chunks?.done === s.done && onDisk.complete === s.allIn) s.drawnDone = s.done;
      else if (s.plan) this.throttle.request(s.id, { immediate: true });
    }
    this.log('rebuilt state from the output folder', {
      out: this.opts.out, analyses: found.length, complete: found.filter((a) => a.complete).length, partials: found.reduce((n, a) => n + a.partials.length, 0),
    });
  }

  private async listen(port: number): Promise<void> {
    const server = createPlotterServer({
      ready: () => this.ready(),
      statuses: () => this.statuses(),
      status: (id) => this.status(id),
      dir: (id) => analysisDir(this.opts.out, id),
      acceptPlan: (doc, id) => this.acceptPlan(doc, id),
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
    conn.on('connected', () => this.emit('ready-changed'));
    conn.on('disconnected', () => this.emit('ready-changed'));
    void conn.addSetup(declareTopologyOn);
    const handle = (d: Delivery): void => this.onDelivery(d);
    this.consumers = [
      new QueueConsumer(conn, { queue: QUEUES.plans, prefetch: PLAN_PREFETCH, handle, log: this.log }),
      new QueueConsumer(conn, { queue: QUEUES.partials, prefetch: this.opts.prefetch ?? 16, handle, log: this.log }),
    ];
    for (const c of this.consumers) void c.start();
    this.deadLetters = new ConfirmPublisher(conn, { initialMs: 200, maxMs: 2_000, budgetMs: 15_000 });
    // A service never gives up on its broker (the budget is infinite); close() ends the loop.
    conn.start().catch((err) => { if (!this.stopping) this.log('broker connection ended', { error: errorMessage(err) }); });
  }

  private onDelivery(d: Delivery): void {
    this.counters.deliveries++;
    if (d.redelivered) this.counters.redelivered++;
    this.work.run(() => this.handle(d)).catch((err) => this.log('message handling failed', { queue: d.queue, error: errorMessage(err) }));
  }

  private async handle(d: Delivery): Promise<void> {
    if (this.opts.faults?.delayPerMessageMs) await sleep(this.opts.faults.delayPerMessageMs);
    // Its channel is gone, so the broker has already queued it again: handling it now is wasted work.
    if (d.stale) return;
    try {
      if (d.queue === QUEUES.plans) await this.handlePlan(d);
      else await this.handlePartial(d);
    } catch (err) {
      // Our failure (a full disk, say), not the message's: hand it back and slow down.
      this.log('could not store message; requeued', { queue: d.queue, error: errorMessage(err) });
      await sleep(1000);
      d.requeue();
    }
  }

  private async handlePlan(d: Delivery): Promise<void> {
    const parsed = parsePlan(d.body);
    const r = parsed.ok ? this.storePlanDoc(parsed.value) : parsed;
    if (!r.ok) return this.reject(d, r.reason, parsed.ok ? parsed.value.analysis : undefined);
    d.ack();
  }

  private async handlePartial(d: Delivery): Promise<void> {
    const parsed = parsePartial(d.body);
    if (!parsed.ok) return this.reject(d, parsed.reason);
    const p = parsed.value;
    const r = this.storePartialDoc(p);
    if (!r.ok) return this.reject(d, r.reason, p.analysis);
    const event: PartialEvent = { analysis: p.analysis, chunk: p.chunk.index, redelivered: d.redelivered };
    this.log('stored partial', { ...event });
    this.emit('partial', event);
    if (this.opts.faults?.holdAcks) {
      this.log('holding the ack (test hook)', { ...event });
      return;
    }
    d.ack();
    this.requestDraw(this.states.get(p.analysis)!);
  }

  private async reject(d: Delivery, reason: string, analysis?: string): Promise<void> {
    this.counters.rejected++;
    const event: RejectedEvent = { queue: d.queue, reason, ...(analysis ? { analysis } : {}) };
    this.log('rejected message', { ...event, redelivered: d.redelivered });
    this.emit('rejected', event);
    try {
      await deadLetter(this.deadLetters!, d, reason);
    } catch (err) {
      this.log('could not dead-letter; the broker will redeliver it', { queue: d.queue, error: errorMessage(err) });
    }
  }

  private stateFor(id: string): AnalysisState {
    let s = this.states.get(id);
    if (!s) {
      s = new AnalysisState(id, analysisDir(this.opts.out, id));
      this.states.set(id, s);
    }
    return s;
  }

  /** Stores a plan; true when it is new. A different plan under an existing id is refused. */
  private storePlanDoc(plan: Plan): Checked<boolean> {
    const s = this.stateFor(plan.analysis);
    if (s.plan) {
      // An id names one generation, whose plan never changes; a different one would silently
      // reinterpret the chunks already stored under it.
      if (canonicalJson(s.plan) !== canonicalJson(plan)) return { ok: false, reason: `plan: conflicts with the plan already stored for '${plan.analysis}'` };
      this.emit('plan', plan.analysis);
      return { ok: true, value: false };
    }
    storePlan(this.opts.out, plan);
    s.plan = plan;
    s.touch();
    this.counters.plansStored++;
    const bad = s.inconsistent();
    this.log('stored plan', { analysis: plan.analysis, chunks: plan.chunks, alreadyIn: s.done, ...(bad.length ? { inconsistent: bad.length } : {}) });
    this.emit('plan', plan.analysis);
    this.throttle.request(s.id, { immediate: true });
    return { ok: true, value: true };
  }

  /** Stores a partial, replacing any earlier copy of the same chunk. */
  private storePartialDoc(p: PartialHistogram): Checked<void> {
    const s = this.stateFor(p.analysis);
    if (s.plan) {
      const mismatch = partialMismatch(s.plan, p);
      if (mismatch) return { ok: false, reason: `partial: ${mismatch}` };
    }
    if (s.isRetired) {
      // Every chunk of a complete analysis is in and drawn: this is a late copy of one (a retried
      // Job's, say). The first copy counted; this one changes nothing, on disk or in the outputs.
      this.log('dropped a copy of a chunk of a complete analysis', { analysis: p.analysis, chunk: p.chunk.index });
      this.counters.copiesDropped++;
      return { ok: true, value: undefined };
    }
    storePartial(this.opts.out, p);
    s.partials.set(p.chunk.index, p);
    s.touch();
    this.counters.partialsStored++;
    return { ok: true, value: undefined };
  }

  private requestDraw(s: AnalysisState): void {
    if (s.plan) this.throttle.request(s.id, { immediate: s.allIn });
  }

  /** Runs inside the serial work: the state cannot change underneath. */
  private draw(id: string): void {
    const s = this.states.get(id);
    // A retired analysis is drawn from all its chunks already, and holds none in memory to draw from.
    if (!s || s.isRetired) return;
    const results = s.results();
    if (!results) return;
    try {
      writeOutputs(s.dir, results);
      s.drawnDone = results.chunksDone;
      s.drawError = undefined;
      s.touch();
    } catch (err) {
      s.drawError = errorMessage(err);
      this.log('drawing failed; will retry', { analysis: id, error: s.drawError });
      this.throttle.request(id);
    }
    const status = s.status();
    storeStatus(s.dir, status);
    this.emit('drawn', status);
    if (status.complete) {
      s.retire();
      this.log('analysis complete', { analysis: id, chunks: status.chunks.total, partials: 'on disk only' });
      this.emit('complete', status);
    }
  }

  private waitFor<T>(probe: () => T | undefined | false, events: string[], timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const v = probe();
        if (v === undefined || v === false) return false;
        cleanup();
        resolve(v as T);
        return true;
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        for (const e of events) this.off(e, check);
      };
      for (const e of events) this.on(e, check);
      check();
    });
  }
}

export const startPlotter = (opts: PlotterOptions): Promise<Plotter> => Plotter.start(opts);
