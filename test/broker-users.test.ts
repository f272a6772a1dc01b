// Who may say what on the broker: the chart's RabbitMQ users, loaded into the real broker exactly
// as the chart makes them (helm template renders the Secret; its definitions.json is imported with
// rabbitmqctl, as RabbitMQ's load_definitions does at boot), then held to their least privilege by
// the broker itself: what `rabbitmqctl list_user_permissions` shows, and what the broker refuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { declareTopologyOn, EXCHANGES, QUEUES, ROUTING } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { toolsBin } from './harness/control-plane.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { BROKER_URL, plotterReady, rabbitmqctl, waitUntil } from './support/broker.js';

const CHART = new URL('../../helm/hzz-operator', import.meta.url).pathname;
const COMPONENTS = ['operator', 'plotter', 'worker'] as const;
type Component = (typeof COMPONENTS)[number];

interface ChartBroker {
  vhost: string;
  admin: string;
  /** Each component's URL from the chart's Secret, pointed at the test broker. */
  urls: Record<Component, string>;
  definitions: { users: { name: string; tags: string }[]; permissions: { user: string; configure: string; write: string; read: string }[] };
}

/** Renders the chart's broker Secret for a vhost and admin name of this test's own. */
async function renderChartBroker(): Promise<ChartBroker> {
  const tag = randomBytes(4).toString('hex');
  const vhost = `hzz-test-users-${tag}`;
  const admin = `hzz-test-${tag}`;
  const home = mkdtempSync(join(tmpdir(), 'hzz-helm-users-'));
  try {
    const { stdout } = await promisify(execFile)(join(toolsBin(), 'helm'), [
      'template', 'hzz', CHART, '--namespace', 'hzz-system', '--show-only', 'templates/rabbitmq-secret.yaml',
      '--set', `broker.vhost=${vhost}`, '--set', `broker.username=${admin}`,
    ], { env: { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home } });
    const field = (key: string): string => {
      const m = new RegExp(`\\n  ${key.replace('.', '\\.')}: "([^"]+)"`).exec(stdout);
      assert.ok(m, `the chart's broker Secret has ${key}`);
      return Buffer.from(m[1]!, 'base64').toString('utf8');
    };
    const local = new URL(BROKER_URL);
    const urls = Object.fromEntries(COMPONENTS.map((c) => {
      const u = new URL(field(`${c}-url`));
      u.host = local.host;
      return [c, u.toString()];
    })) as Record<Component, string>;
    return { vhost, admin, urls, definitions: JSON.parse(field('definitions.json')) as ChartBroker['definitions'] };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** What the broker answers when `fn` runs on a fresh channel as `url`: 'ok' or its refusal. */
async function attempt(url: string, fn: (ch: import('amqplib').ConfirmChannel) => Promise<unknown>): Promise<string> {
  const conn = await connect(url);
  conn.on('error', () => {});
  // A refused publish only closes the channel; the broker's reason comes with the 'error' event.
  let closedBecause: string | undefined;
  try {
    const ch = await conn.createConfirmChannel();
    ch.on('error', (err: Error) => { closedBecause = err.message; });
    await fn(ch);
    await ch.close();
    return 'ok';
  } catch (err) {
    return closedBecause ?? String((err as Error).message);
  } finally {
    await conn.close().catch(() => {});
  }
}

const publish = (exchange: string, key: string) => async (ch: import('amqplib').ConfirmChannel) => {
  ch.publish(exchange, key, Buffer.from('{}'), { persistent: true });
  await ch.waitForConfirms();
};

describe('the chart\'s RabbitMQ users on the real broker', () => {
  let broker: ChartBroker;
  let fx: Fixture;

  before(async () => {
    broker = await renderChartBroker();
    // On stdin: the node reads a file argument itself, as its own user, who cannot read our temp folders.
    await new Promise<void>((resolve, reject) => {
      const child = execFile('rabbitmqctl', ['import_definitions', '--format', 'json'], { timeout: 60_000 }, (err) => (err ? reject(err) : resolve()));
      child.stdin!.end(JSON.stringify(broker.definitions));
    });
    // The import is asynchronous: wait until the last user can log in.
    await waitUntil('the imported users', async () => (await attempt(broker.urls.worker, async () => {})) === 'ok', 30_000, 250);
    fx = await analysisFixture('default/users/g1');
  });

  after(async () => {
    for (const u of broker?.definitions.users ?? []) await rabbitmqctl('delete_user', u.name).catch(() => '');
    if (broker) await rabbitmqctl('delete_vhost', broker.vhost).catch(() => '');
  });

  test('list_user_permissions shows each component\'s least privilege, and no component is an administrator', async () => {
    const expected: Record<Component, [string, string, string]> = {
      operator: ['^$', '^hzz\\.plan$', '^$'],
      plotter: ['^hzz\\.(partial|plan|dead|partials|plans|partials\\.dead|plans\\.dead)$', '^hzz\\.(dead|partials|plans|partials\\.dead|plans\\.dead)$', '^hzz\\.(partial|plan|dead|partials|plans)$'],
      worker: ['^$', '^hzz\\.partial$', '^$'],
    };
    for (const c of COMPONENTS) {
      const user = decodeURIComponent(new URL(broker.urls[c]).username);
      assert.equal(user, `${broker.admin}-${c}`, `the ${c} connects as its own user, not as the administrator`);
      const rows = (await rabbitmqctl('list_user_permissions', user, '--quiet', '--no-table-headers')).trim().split('\n').map((l) => l.split('\t'));
      assert.deepEqual(rows, [[broker.vhost, ...expected[c]]], `${c}'s permissions`);
    }
    const tags = (await rabbitmqctl('list_users', '--quiet', '--no-table-headers')).split('\n').map((l) => l.split('\t'))
      .filter(([name]) => COMPONENTS.some((c) => name === `${broker.admin}-${c}`));
    assert.equal(tags.length, 3);
    for (const [name, t] of tags) assert.equal(t, '[]', `${name} has tags ${t}`);
  });

  test('the pipeline runs on these users alone: the plotter declares and consumes, the operator plans, chunk pods publish partials', { timeout: 90_000 }, async (t) => {
    const out = tempDir('users-run');
    const plotter = await startPlotter({ out: out.path, broker: brokerFromUrl(broker.urls.plotter), port: null });
    const operator = openPublishSession(brokerFromUrl(broker.urls.operator), { name: 'test operator', retry: { initialMs: 100, maxMs: 1000, budgetMs: 20_000 } });
    t.after(async () => { await operator.close(); await plotter.stop(); out.dispose(); });
    await plotterReady(plotter);
    const plan = planEnvelope(fx.plan);
    await operator.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
    const env = { HZZ_AMQP_URL: broker.urls.worker, HZZ_AMQP_RETRY_SECONDS: '20', ...fx.workerEnv };
    const codes = await Promise.all(fx.tasks.map((task) => runWorker(task, env).then((o) => o.code)));
    assert.deepEqual(new Set(codes), new Set([ExitCode.Published]));
    await plotter.waitForComplete(fx.plan.analysis, 60_000);
    assert.deepEqual(histogramsOf(plotter.results(fx.plan.analysis)!), histogramsOf(fx.expected));
  });

  test('a chunk pod\'s credentials cannot publish a plan, consume any queue, bind or declare anything', async () => {
    // The plotter's user declares the topology, as the plotter does, so every refusal below is about rights.
    const plotterConn = await connect(broker.urls.plotter);
    await declareTopologyOn(plotterConn);
    await plotterConn.close();
    const worker = broker.urls.worker;
    const refused = /ACCESS_REFUSED/;
    assert.equal(await attempt(worker, publish(EXCHANGES.partial, ROUTING.partial)), 'ok', 'a chunk pod may publish a partial');
    assert.match(await attempt(worker, publish(EXCHANGES.plan, ROUTING.plan)), refused, 'a plan');
    assert.match(await attempt(worker, publish(EXCHANGES.dead, ROUTING.partial)), refused, 'a dead letter');
    assert.match(await attempt(worker, publish('', QUEUES.plans)), refused, 'straight into a queue');
    for (const queue of Object.values(QUEUES)) {
      assert.match(await attempt(worker, (ch) => ch.consume(queue, () => {})), refused, `consume ${queue}`);
      assert.match(await attempt(worker, (ch) => ch.get(queue)), refused, `get from ${queue}`);
      assert.match(await attempt(worker, (ch) => ch.purgeQueue(queue)), refused, `purge ${queue}`);
    }
    assert.match(await attempt(worker, (ch) => ch.assertQueue('hzz.partials.stolen')), refused, 'declare a queue');
    assert.match(await attempt(worker, (ch) => ch.assertExchange(EXCHANGES.partial, 'direct', { durable: true })), refused, 'declare an exchange');
    assert.match(await attempt(worker, (ch) => ch.bindQueue(QUEUES.plans, EXCHANGES.partial, ROUTING.partial)), refused, 'bind');
    assert.match(await attempt(worker, (ch) => ch.deleteQueue(QUEUES.partials)), refused, 'delete a queue');
  });

  test('the operator may publish plans only, and the plotter may publish neither plans nor partials', async () => {
    const refused = /ACCESS_REFUSED/;
    assert.equal(await attempt(broker.urls.operator, publish(EXCHANGES.plan, ROUTING.plan)), 'ok');
    assert.match(await attempt(broker.urls.operator, publish(EXCHANGES.partial, ROUTING.partial)), refused);
    assert.match(await attempt(broker.urls.operator, (ch) => ch.get(QUEUES.plans)), refused);
    assert.match(await attempt(broker.urls.operator, (ch) => ch.assertQueue(QUEUES.plans)), refused);
    assert.match(await attempt(broker.urls.plotter, publish(EXCHANGES.plan, ROUTING.plan)), refused);
    assert.match(await attempt(broker.urls.plotter, publish(EXCHANGES.partial, ROUTING.partial)), refused);
    assert.equal(await attempt(broker.urls.plotter, publish(EXCHANGES.dead, ROUTING.partial)), 'ok', 'the plotter dead-letters');
  });
});
