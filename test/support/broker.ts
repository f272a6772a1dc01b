import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type GetMessage } from 'amqplib';
import { declareTopologyOn } from '../../transport/topology.js';

/**
 * A real RabbitMQ for the pipeline tests: each test gets a vhost of its own (fresh queues, no
 * leftovers from another test) and deletes it afterwards. The broker must be running; the URL comes
 * from HZZ_TEST_AMQP_URL, and rabbitmqctl must reach the same node.
 */
export const BROKER_URL = process.env.HZZ_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const run = promisify(execFile);

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

export interface TestVhost {
  name: string;
  /** BROKER_URL pointed at this vhost. */
  url: string;
  dispose(): Promise<void>;
}

export async function createVhost(label: string): Promise<TestVhost> {
  const name = `hzz-test-${label}-${randomBytes(4).toString('hex')}`;
  const base = new URL(BROKER_URL);
  const user = decodeURIComponent(base.username || 'guest');
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
  base.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: base.toString(),
    dispose: async () => { await rabbitmqctl('delete_vhost', name).catch(() => {}); },
  };
}

/** The names of a vhost's queues or exchanges (those our code declares: `hzz.…`), sorted, as rabbitmqctl lists them. */
export async function brokerObjects(vhost: string, kind: 'queues' | 'exchanges'): Promise<string[]> {
  const out = await rabbitmqctl(`list_${kind}`, '-p', vhost, 'name', '--quiet', '--no-table-headers');
  return out.split('\n').map((l) => l.trim()).filter((n) => n.startsWith('hzz.')).sort();
}

/** Runs `fn` with a short-lived connection and channel. */
export async function withChannel<T>(url: string, fn: (ch: import('amqplib').ConfirmChannel) => Promise<T>): Promise<T> {
  const conn = await connect(url);
  conn.on('error', () => {});
  try {
    const ch = await conn.createConfirmChannel();
    return await fn(ch);
  } finally {
    await conn.close().catch(() => {});
  }
}

export async function declareTopology(url: string): Promise<void> {
  const conn = await connect(url);
  try { await declareTopologyOn(conn); } finally { await conn.close(); }
}

export function queueDepth(url: string, queue: string): Promise<number> {
  return withChannel(url, async (ch) => (await ch.checkQueue(queue)).messageCount);
}

/** Takes every ready message off a queue (acking them). */
export function drain(url: string, queue: string): Promise<GetMessage[]> {
  return withChannel(url, async (ch) => {
    const got: GetMessage[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) return got;
      got.push(m);
    }
  });
}

/** Publishes raw bytes (confirmed), bypassing our publisher: how a broken producer would. */
export function publishRaw(url: string, exchange: string, routingKey: string, body: Buffer | string): Promise<void> {
  return withChannel(url, async (ch) => {
    ch.publish(exchange, routingKey, Buffer.from(body), { persistent: true });
    await ch.waitForConfirms();
  });
}

/** Waits until the plotter is connected and consuming both queues (its /readyz). */
export function plotterReady(plotter: { ready(): { ready: boolean } }): Promise<void> {
  return waitUntil('the plotter to be ready', () => plotter.ready().ready);
}

export async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
