import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import { signatureProblem } from '../core/contracts/partial-signature.js';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { runThroughBroker } from '../local/run-through-broker.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { brokerObjects, createVhost, plotterReady, waitUntil } from './support/broker.js';

// The pipeline's main promise: going through RabbitMQ changes nothing. Every chunk is counted once,
// and the histograms equal, number for number, the in-process run of the same chunks.

const ID = 'default/higgs/g1';
let fx: Fixture;

before(async () => {
  fx = await analysisFixture(ID);
  assert.ok(fx.tasks.length >= 15, `the fixture should have enough chunks to be a real run (has ${fx.tasks.length})`);
});

test('a run through RabbitMQ gives the in-process histograms, drawn and stored in the output folder', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('run');
  const out = tempDir('run');
  t.after(async () => { await vhost.dispose(); out.dispose(); });

  const progress: number[] = [];
  const r = await runThroughBroker({ plan: fx.plan, tasks: fx.tasks, broker: vhost.url, out: out.path, concurrency: 3, onProgress: (p) => progress.push(p.done) }, { runWorker, startPlotter });

  assert.deepEqual(r.failures, []);
  assert.equal(r.complete, true);
  assert.deepEqual(histogramsOf(r.results), histogramsOf(fx.expected));
  assert.equal(r.dir, join(out.path, 'default', 'higgs', 'g1'));
  const onDisk = JSON.parse(readFileSync(join(r.dir, 'histograms.json'), 'utf8'));
  assert.deepEqual(onDisk, histogramsOf(fx.expected));
  const status = JSON.parse(readFileSync(join(r.dir, 'status.json'), 'utf8'));
  assert.deepEqual([status.chunks, status.complete], [{ total: fx.plan.chunks, done: fx.plan.chunks }, true]);
  assert.deepEqual(readFileSync(join(r.dir, 'hzz_m4l.png')).subarray(1, 4).toString(), 'PNG');
  assert.ok(existsSync(join(r.dir, 'histograms.csv')));
  // The run drew a key of its own for its partials' signatures (core/contracts/partial-signature.ts).
  const { partialKey, ...stored } = JSON.parse(readFileSync(join(r.dir, 'plan.json'), 'utf8')) as Plan;
  assert.deepEqual({ ...stored, partialKey: fx.plan.partialKey }, fx.plan);
  assert.match(partialKey ?? '', /^[0-9a-f]{64}$/);
  const partial = JSON.parse(readFileSync(join(r.dir, 'partials', 'c0.json'), 'utf8')) as PartialHistogram;
  assert.equal(signatureProblem(partial, partialKey!), undefined, 'every stored partial is signed with it');
  assert.deepEqual(readdirSync(join(r.dir, 'partials')).sort(), fx.tasks.map((t) => `c${t.chunk.index}.json`).sort());
  assert.equal(progress.at(-1), fx.plan.chunks);
  // The run used broker objects of its own, and deleted them (nothing was dead-lettered): none is left.
  assert.match(r.topology.queues.partials, /^hzz\.run\.[0-9a-f]{12}\.partials$/);
  assert.deepEqual(await brokerObjects(vhost.name, 'queues'), []);
  assert.deepEqual(await brokerObjects(vhost.name, 'exchanges'), []);
});

test('the same chunk published twice is counted once', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('dup');
  const out = tempDir('dup');
  const plotter = await startPlotter({ out: out.path, broker: brokerFromUrl(vhost.url), port: null });
  t.after(async () => { await plotter.stop(); await vhost.dispose(); out.dispose(); });
  await plotterReady(plotter);

  const session = openPublishSession(brokerFromUrl(vhost.url), { name: 'test', retry: { initialMs: 100, maxMs: 1000, budgetMs: 10_000 } });
  const plan = planEnvelope(fx.plan);
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
  await session.close();

  // Each worker opens its own connection from the environment, as a Job's would.
  const env = { HZZ_AMQP_URL: vhost.url, ...fx.workerEnv };
  const twice = [fx.tasks[0]!, fx.tasks[7]!, fx.tasks[7]!];
  const codes = [];
  for (const task of [...fx.tasks, ...twice]) codes.push(await runWorker(task, env).then((o) => o.code));
  assert.ok(codes.every((c) => c === ExitCode.Published), `exit codes ${codes.join(',')}`);

  // All copies must have been handled before the count means anything: stored, or dropped when
  // they came after the analysis was complete.
  await waitUntil('every copy to reach the plotter', () => plotter.counters.partialsStored + plotter.counters.copiesDropped === fx.tasks.length + twice.length, 20_000);
  await plotter.flush(ID);
  assert.deepEqual(plotter.status(ID)!.chunks, { total: fx.plan.chunks, done: fx.plan.chunks });
  assert.equal(plotter.status(ID)!.complete, true);
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  const dir = join(out.path, 'default', 'higgs', 'g1');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8')), histogramsOf(fx.expected));
  assert.equal(readdirSync(join(dir, 'partials')).length, fx.plan.chunks);
});
