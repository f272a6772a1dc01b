import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { toPartial } from '../core/analyze-chunk.js';
import { analysisDir } from '../core/contracts/analysis-id.js';
import { ExitCode } from '../core/contracts/exit-codes.js';
import type { PartialHistogram, Task } from '../core/contracts/messages.js';
import { emptyHistogram } from '../core/histogram.js';
import { Analyses } from '../plotter/analyses.js';
import type { AnalysisProgress } from '../plotter/analysis-state.js';
import type { RejectedEvent } from '../plotter/inbox.js';
import { DEFAULT_ORPHAN_LIMITS } from '../plotter/orphans.js';
import { startPlotter } from '../plotter/plotter.js';
import { SerialWork } from '../plotter/serial-work.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { QUEUES, TOPOLOGY } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { createVhost, drain, plotterReady, waitUntil } from './support/broker.js';

// The plotter counts only what the plan says: a partial must be the plan's chunk of its index, a
// plan must not list a sample or a category twice, and a draw that cannot work is not retried.

const ID = 'default/higgs/g11';
let fx: Fixture;

// Chunks of 50 entries: data_B's 156 entries are several chunks, so one can pose as another.
before(async () => { fx = await analysisFixture(ID, 50); });

const retry = { initialMs: 100, maxMs: 1000, budgetMs: 10_000 };
const run = promisify(execFile);

async function withPlotter(label: string, fn: (p: {
  plotter: Awaited<ReturnType<typeof startPlotter>>; publish: (tasks: readonly Task[]) => Promise<void>; publishPlan: (plan: unknown) => Promise<void>;
  rejected: RejectedEvent[]; url: string;
}) => Promise<void>): Promise<void> {
  const vhost = await createVhost(label);
  const out = tempDir(label);
  const address = brokerFromUrl(vhost.url);
  const plotter = await startPlotter({ out: out.path, broker: address, port: null });
  const session = await openPublishSession(address, { name: 'test', retry });
  const rejected: RejectedEvent[] = [];
  plotter.on('rejected', (e: RejectedEvent) => rejected.push(e));
  try {
    await plotterReady(plotter);
    await fn({
      plotter, rejected, url: vhost.url,
      publish: async (tasks) => {
        const codes = await Promise.all(tasks.map((t) => runWorker(t, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
        assert.ok(codes.every((c) => c === ExitCode.Published));
      },
      publishPlan: async (plan) => {
        const e = planEnvelope(plan as Fixture['plan']);
        await session.publisher.publish(e.exchange, e.routingKey, e.body, e.options);
      },
    });
  } finally {
    await session.close();
    await plotter.stop();
    await vhost.dispose();
    out.dispose();
  }
}

test('a partial whose chunk is not the plan\'s chunk of that index is dead-lettered, never counted', { timeout: 120_000 }, async () => {
  // Two chunks of one sample: the forgery is the first chunk's real result, published as the second.
  const [real, posed] = fx.tasks.filter((t) => t.chunk.sample === 'data_B');
  assert.ok(real && posed, 'data_B has at least two chunks');
  const others = fx.tasks.filter((t) => t !== posed);
  await withPlotter('forged-chunk', async ({ plotter, publish, publishPlan, rejected, url }) => {
    await publishPlan(fx.plan);
    await waitUntil('the plan', () => plotter.status(ID)?.planned === true);
    await publish(others);
    await waitUntil('every other chunk', () => plotter.status(ID)?.chunks.done === fx.plan.chunks - 1);
    // The forgery names the posed chunk's index, with the real chunk's entry range.
    await publish([{ ...real, chunk: { ...real.chunk, index: posed.chunk.index } }]);
    await waitUntil('the forgery to be refused', () => rejected.length === 1);
    assert.match(rejected[0]!.reason, new RegExp(`partial: chunk ${posed.chunk.index} is .*entries ${real.chunk.entryStart}-${real.chunk.entryStop}.*the plan's .*entries ${posed.chunk.entryStart}-${posed.chunk.entryStop}.*entryStart, entryStop differ`));
    assert.equal(plotter.status(ID)?.chunks.done, fx.plan.chunks - 1, 'the forgery is not counted');
    assert.equal(plotter.status(ID)?.complete, false);
    const dead = await drain(url, QUEUES.partialsDead);
    assert.equal(dead.length, 1);
    // The real chunk still counts, and the result is the fault-free one.
    await publish([posed]);
    await plotter.waitForComplete(ID, 30_000);
    assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  });
});

test('a plan that lists a sample or a category twice, or miscounts its chunks, is dead-lettered', { timeout: 60_000 }, async () => {
  const data = fx.plan.samples.find((s) => s.sample === 'data_A')!;
  const twiceSample = { ...fx.plan, analysis: `${ID}-s`, samples: [...fx.plan.samples, data], chunks: fx.plan.chunks + 1 };
  const twiceCategory = { ...fx.plan, analysis: `${ID}-c`, categories: [...fx.plan.categories, fx.plan.categories[0]!] };
  const miscounted = { ...fx.plan, analysis: `${ID}-n`, chunks: fx.plan.chunks - 1 };
  await withPlotter('twice', async ({ plotter, publishPlan, rejected, url }) => {
    for (const plan of [twiceSample, twiceCategory, miscounted]) await publishPlan(plan);
    await waitUntil('three plans to be refused', () => rejected.length === 3);
    // In the order published, one queue.
    const reasons = rejected.map((r) => r.reason);
    assert.match(reasons[0]!, new RegExp(`^plan: /samples/${fx.plan.samples.length}: 'data_A' is listed twice$`));
    assert.match(reasons[1]!, new RegExp(`^plan: /categories/${fx.plan.categories.length}: '${fx.plan.categories[0]!.name}' is listed twice$`));
    assert.match(reasons[2]!, new RegExp(`^plan: /chunks is ${fx.plan.chunks - 1}, but its samples cut into chunks of 50 give ${fx.plan.chunks}$`));
    for (const plan of [twiceSample, twiceCategory, miscounted]) assert.equal(plotter.status(plan.analysis)?.planned ?? false, false);
    assert.equal((await drain(url, QUEUES.plansDead)).length, 3);
  });
});

test('a draw that fails for good is recorded in the status and not retried', { timeout: 30_000 }, async () => {
  // Past the parser (whose ranges refuse such sums), two chunks whose sums overflow when added up.
  const out = tempDir('draw-fails');
  const events = new EventEmitter();
  const drawn: AnalysisProgress[] = [];
  events.on('drawn', (s: AnalysisProgress) => drawn.push(s));
  const work = new SerialWork();
  const analyses = new Analyses({
    out: out.path, work, events, counters: { partialsStored: 0, copiesDropped: 0, plansStored: 0, orphansDeadLettered: 0 }, log: () => {}, drawIntervalMs: 100, health: {},
    topology: TOPOLOGY, orphanLimits: DEFAULT_ORPHAN_LIMITS,
  });
  try {
    const huge = (t: Task): PartialHistogram => {
      const h = emptyHistogram(fx.plan.binning, fx.plan.cuts!.length);
      h.sumw[10] = 1.7e308;
      h.sumw2[10] = 1.7e308;
      return toPartial(t, h);
    };
    await work.run(() => analyses.storePlan(fx.plan));
    for (const t of fx.tasks) {
      const p = fx.sign(t.chunk.sample === 'data_B' ? huge(t) : toPartial(t, emptyHistogram(fx.plan.binning, fx.plan.cuts!.length)));
      await work.run(async () => assert.deepEqual(await analyses.storePartial(p, Buffer.from(JSON.stringify(p))), { ok: true, value: undefined }));
    }
    for (let i = 0; i < 5; i++) analyses.requestDraw(ID);
    await waitUntil('the draw to fail', () => drawn.some((s) => s.failed !== undefined), 10_000);
    const before = drawn.length;
    await new Promise((r) => setTimeout(r, 1_500));
    for (let i = 0; i < 3; i++) analyses.requestDraw(ID);
    await work.idle();
    assert.equal(drawn.length, before, 'no draw after the failure');
    const status = analyses.progress(ID)!;
    assert.equal(status.complete, false);
    assert.equal(status.writeError, undefined);
    assert.match(status.failed!, new RegExp(`${ID}: sample 'data_B': sumw of bin 10 \\[130, 135\\) GeV overflows \\(Infinity\\)`));
    // What is on disk is the plan's first draw, not one with null or Infinity in it.
    const doc = JSON.parse(readFileSync(join(analysisDir(out.path, ID), 'histograms.json'), 'utf8')) as { chunks: { done: number }; samples: Record<string, { sumw: unknown[] }> };
    assert.equal(doc.chunks.done, 0);
    assert.ok(doc.samples.data_B!.sumw.every(Number.isFinite));
  } finally {
    await analyses.drawPendingAndStop();
    out.dispose();
  }
});

test('a full output volume: no .tmp left on any retry, /readyz says 503 and why, the status shows it; freed, the run completes', { timeout: 120_000 }, async (t) => {
  // A volume of its own: a small tmpfs, mounted for this test and unmounted after it.
  const volume = tempDir('full-volume');
  await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'hzz-full-volume', volume.path]);
  t.after(async () => { await run('umount', [volume.path]); volume.dispose(); });
  const vhost = await createVhost('full-volume');
  const address = brokerFromUrl(vhost.url);
  const plotter = await startPlotter({ out: volume.path, broker: address, port: 0, host: '127.0.0.1', drawIntervalMs: 200 });
  const session = await openPublishSession(address, { name: 'test', retry });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); });
  await plotterReady(plotter);
  const readyz = async () => { const res = await fetch(`http://127.0.0.1:${plotter.port}/readyz`); return { code: res.status, body: await res.json() as { reason?: string } }; };
  const e = planEnvelope(fx.plan);
  await session.publisher.publish(e.exchange, e.routingKey, e.body, e.options);
  await waitUntil('the plan to be drawn', () => plotter.status(ID)?.planned === true && existsSync(join(analysisDir(volume.path, ID), 'hzz_m4l.png')));
  assert.equal((await readyz()).code, 200);

  // Fill the volume to its last byte.
  const filler = join(volume.path, 'filler');
  await run('sh', ['-c', `dd if=/dev/zero of=${filler} bs=4k 2>/dev/null || true`]);
  const codes = await Promise.all(fx.tasks.map((task) => runWorker(task, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
  assert.ok(codes.every((c) => c === ExitCode.Published));
  await waitUntil('the plotter to see the full disk', async () => (await readyz()).code === 503, 30_000);
  const { body } = await readyz();
  assert.match(body.reason!, new RegExp(`cannot write to the output folder: .*${ID}: ENOSPC`));
  assert.match(plotter.status(ID)!.writeError!, /ENOSPC/);
  assert.equal(plotter.status(ID)!.complete, false);
  // Several retries later (one a second), still no temporary file anywhere on the volume.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.deepEqual(tempFiles(volume.path), []);

  rmSync(filler);
  await plotter.waitForComplete(ID, 60_000);
  assert.equal((await readyz()).code, 200);
  assert.equal(plotter.status(ID)!.writeError, undefined);
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  assert.deepEqual(tempFiles(volume.path), []);
});

function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
}
