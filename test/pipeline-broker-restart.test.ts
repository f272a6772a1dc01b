import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { QUEUES } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir } from './support/analysis-fixture.js';
import { createVhost, plotterReady, queueDepth, rabbitmqctl, waitUntil } from './support/broker.js';

// The broker itself goes away mid-run (a real stop_app, as in a node restart or an upgrade) with
// partials queued, partials unacked at the plotter, and workers about to publish. Confirmed
// messages are on disk and survive; unacked ones are redelivered; the worker's publisher and the
// plotter both reconnect by themselves. The result must not change by a single bit.

const ID = 'default/higgs/g4';

test('a broker restart mid-run loses nothing: workers and plotter reconnect, the result is identical', { timeout: 90_000 }, async (t) => {
  const fx = await analysisFixture(ID);
  const vhost = await createVhost('broker-restart');
  const out = tempDir('broker-restart');
  const address = brokerFromUrl(vhost.url);
  // Slowed down so that the broker stops while partials are still waiting for the plotter.
  let plotterConnects = 0;
  const log = (msg: string): void => { if (msg === 'connected to broker') plotterConnects++; };
  const plotter = await startPlotter({ out: out.path, broker: address, port: null, log, faults: { delayPerMessageMs: 60 } });
  const session = openPublishSession(address, { name: 'test-workers', retry: { initialMs: 100, maxMs: 1000, budgetMs: 45_000 } });
  let brokerDown = false;
  t.after(async () => {
    if (brokerDown) await rabbitmqctl('start_app').catch(() => {});
    await session.close();
    await plotter.stop();
    await vhost.dispose();
    out.dispose();
  });
  await plotterReady(plotter);

  const plan = planEnvelope(fx.plan);
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
  await waitUntil('the plotter to store the plan', () => plotter.status(ID) !== undefined);
  const half = Math.floor(fx.tasks.length / 2);
  const firstHalf = await Promise.all(fx.tasks.slice(0, half).map((task) => runWorker(task, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
  assert.ok(firstHalf.every((c) => c === ExitCode.Published));
  assert.ok(plotter.status(ID)!.chunks.done < half, 'the plotter is still behind when the broker stops');

  brokerDown = true;
  await rabbitmqctl('stop_app');
  await waitUntil('the plotter to notice', () => !plotter.ready().ready, 10_000);

  // These workers publish into the outage: their publishes must wait for the broker, not fail.
  const secondHalf = Promise.all(fx.tasks.slice(half).map((task) => runWorker(task, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
  await new Promise((r) => setTimeout(r, 1500));
  await rabbitmqctl('start_app');
  brokerDown = false;

  const codes = await secondHalf;
  assert.ok(codes.every((c) => c === ExitCode.Published), `exit codes after the restart: ${codes.join(',')}`);
  const status = await plotter.waitForComplete(ID, 45_000);

  assert.ok(plotterConnects >= 2, `the plotter reconnected (${plotterConnects} connections)`);
  assert.ok(session.connection.connects >= 2, `the workers' publisher reconnected (${session.connection.connects} connections)`);
  assert.deepEqual(status.chunks, { total: fx.plan.chunks, done: fx.plan.chunks });
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  const dir = join(out.path, 'default', 'higgs', 'g4');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8')), histogramsOf(fx.expected));
  await waitUntil('the queue to drain', async () => (await queueDepth(vhost.url, QUEUES.partials)) === 0, 10_000);
});
