import { EventEmitter } from 'node:events';
import { connect, type ChannelModel } from 'amqplib';
import { errorMessage, transient } from '../core/contracts/errors.js';
import { backoffDelay, type Backoff } from '../core/util/backoff.js';
import { silentLog, type Log } from '../core/util/log.js';
import type { BrokerAddress } from './broker-address.js';

/**
 * One AMQP connection that comes back by itself. amqplib gives a connection that, once closed, is
 * gone; every user here (a worker's publisher, the plotter's consumers) wants "the broker", whatever
 * socket is current. So this class owns the reconnect loop: connect with backoff, run every setup
 * step (topology, consumers) on the new connection, and on an unexpected close start over.
 *
 * Events: 'connected' (ChannelModel), 'disconnected' (reason string), 'gave-up' (Error).
 */
export type SetupStep = (model: ChannelModel) => Promise<void>;

export interface BrokerConnectionOptions {
  address: BrokerAddress;
  /** Shows up as the connection's name in the broker's management UI and `rabbitmqctl list_connections`. */
  name: string;
  /** The budget counts from the moment the broker went missing, per outage. */
  retry: Backoff;
  log?: Log;
  /** TCP connect timeout for one attempt. */
  connectTimeoutMs?: number;
}

export class BrokerConnection extends EventEmitter {
  private model: ChannelModel | undefined;
  private loop: Promise<void> | undefined;
  private closing = false;
  private readonly setups: SetupStep[] = [];
  /** Cuts a backoff pause short when the connection is closed. */
  private wake: (() => void) | undefined;
  private waiters: { resolve: (m: ChannelModel) => void; reject: (e: Error) => void }[] = [];
  /** Connections that closed while their setup steps still ran: never to be handed out. */
  private readonly dead = new WeakSet<ChannelModel>();
  private readonly log: Log;
  /** How many times a connection was established; more than one means it reconnected. */
  connects = 0;

  constructor(private readonly opts: BrokerConnectionOptions) {
    super();
    this.log = opts.log ?? silentLog;
  }

  get connected(): boolean {
    return this.model !== undefined;
  }

  get address(): string {
    return this.opts.address.display;
  }

  /**
   * Adds a step run on every new connection, in the order added; if the connection is already up
   * it also runs now. A failing step drops the connection and the loop tries again.
   */
  async addSetup(step: SetupStep): Promise<void> {
    this.setups.push(step);
    const m = this.model;
    if (m) {
      try {
        await step(m);
      } catch (err) {
        this.reset(`setup failed: ${errorMessage(err)}`);
      }
    }
  }

  /** The current connection, waiting for one (within the retry budget) if there is none. */
  current(): Promise<ChannelModel> {
    if (this.model) return Promise.resolve(this.model);
    if (this.closing) return Promise.reject(new Error(`connection to ${this.address} is closed`));
    const p = new Promise<ChannelModel>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.ensureLoop();
    return p;
  }

  /** Starts connecting; resolves when connected, rejects with a transient error after the budget. */
  start(): Promise<ChannelModel> {
    return this.current();
  }

  /**
   * Drops the current connection so that the loop builds a fresh one. Used when a channel we rely on
   * died while the connection lived on: rebuilding everything is simpler than repairing one piece.
   */
  reset(reason: string): void {
    const m = this.model;
    if (!m) return;
    this.log('resetting broker connection', { reason });
    this.detach(m, reason);
    m.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.closing = true;
    const m = this.model;
    this.model = undefined;
    this.failWaiters(new Error(`connection to ${this.address} was closed`));
    this.wake?.();
    if (m) await closeModel(m);
    await this.loop?.catch(() => {});
  }

  private ensureLoop(): void {
    if (!this.loop) this.loop = this.connectLoop().finally(() => { this.loop = undefined; });
  }

  private async connectLoop(): Promise<void> {
    const since = Date.now();
    let lastError = 'not tried';
    for (let attempt = 0; !this.closing; attempt++) {
      let model: ChannelModel | undefined;
      try {
        model = await connect(this.opts.address.target, {
          timeout: this.opts.connectTimeoutMs ?? 5_000,
          clientProperties: { connection_name: this.opts.name },
        });
        this.watch(model);
        for (const step of this.setups) await step(model);
        if (this.dead.has(model)) throw new Error('connection closed during setup');
        if (this.closing) { await closeModel(model); return; }
        this.model = model;
        this.connects++;
        this.log('connected to broker', { broker: this.address, attempt, connects: this.connects });
        this.emit('connected', model);
        const waiting = this.waiters;
        this.waiters = [];
        waiting.forEach((w) => w.resolve(model!));
        return;
      } catch (err) {
        lastError = errorMessage(err);
        if (model) await closeModel(model);
      }
      const delay = backoffDelay(attempt, this.opts.retry);
      if (Date.now() - since + delay > this.opts.retry.budgetMs) break;
      this.log('broker not reachable, retrying', { broker: this.address, attempt, delayMs: Math.round(delay), error: lastError });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = undefined;
    }
    if (this.closing) return;
    const err = transient(`broker ${this.address}`, `unreachable for ${Math.round((Date.now() - since) / 1000)} s: ${lastError}`);
    this.log('giving up on the broker', { broker: this.address, error: err.message });
    this.failWaiters(err);
    this.emit('gave-up', err);
  }

  private watch(model: ChannelModel): void {
    // Without an 'error' listener an EventEmitter throws, and a broker shutting down would kill us.
    model.on('error', (err: unknown) => this.log('broker connection error', { error: errorMessage(err) }));
    model.on('close', (err: unknown) => {
      this.dead.add(model);
      this.detach(model, err ? errorMessage(err) : 'closed');
    });
  }

  private detach(model: ChannelModel, reason: string): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.log('disconnected from broker', { reason });
    this.emit('disconnected', reason);
    if (!this.closing) this.ensureLoop();
  }

  private failWaiters(err: Error): void {
    const waiting = this.waiters;
    this.waiters = [];
    waiting.forEach((w) => w.reject(err));
  }
}

/**
 * amqplib's close() settles only on the broker's CloseOk. A broker that dies meanwhile never sends
 * it, and the promise stays pending for ever: a worker whose partial was confirmed would then end
 * with its event loop empty (exit 13) instead of 0. The connection's own 'close' ends the wait too.
 */
function closeModel(m: ChannelModel): Promise<void> {
  return new Promise<void>((resolve) => {
    m.once('close', () => resolve());
    m.close().then(() => resolve(), () => resolve());
  });
}
