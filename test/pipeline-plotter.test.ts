import { PlotterStatusSchema, type PlotterStatus } from '../core/contracts/plotter-status.js';
import { checked } from '../core/schema-check.js';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { toPartial } from '../core/analyze-chunk.js';
import { analysisIdProblem } from '../core/contracts/analysis-id.js';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { emptyHistogram } from '../core/histogram.js';
import { startPlotter, type Plotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { partialEnvelope, planEnvelope } from '../transport/envelope.js';
import { openPublishSession, type PublishSession } from '../transport/publish-session.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { HEADERS, QUEUES } from '../transport/topology.js';
import { createVhost, drain, plotterReady, waitUntil } from './support/broker.js';

// The plotter's own promises: partials may come before their plan; the HTTP API takes no plan;
// the folder alone is enough to come back; redraws are throttled but the last one is never late;
// an analysis id can never name a path outside the output folder.

const ID = 'default/higgs/g7';
let fx: Fixture;

before(async () => { fx = await analysisFixture(ID); });

const retry = { initialMs: 100, maxMs: 1000, budgetMs: 10_000 };

async function publishAll(session: PublishSession): Promise<void> {
  const codes = await Promise.all(fx.tasks.map((t) => runWorker(t, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
  assert.ok(codes.every((c) => c === ExitCode.Published));
}

const http = async (p: Plotter, path: string, init?: RequestInit): Promise<{ status: number; json: unknown }> => {
  const res = await fetch(`http://127.0.0.1:${p.port}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
};

test('partials that come before their plan are kept, and counted when the plan arrives (or dead-lettered when they do not fit it); the HTTP API takes no plan', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('plan-late');
  const out = tempDir('plan-late');
  const address = brokerFromUrl(vhost.url);
  const plotter = await startPlotter({ out: out.path, broker: address, port: 0, host: '127.0.0.1' });
  const session = openPublishSession(address, { name: 'test', retry });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  await plotterReady(plotter);
  assert.equal((await http(plotter, '/healthz')).status, 200);
  assert.equal((await http(plotter, '/readyz')).status, 200);

  await publishAll(session);
  // One more that will turn out not to belong to the plan.
  const stray = partialEnvelope(fx.sign(toPartial({ ...fx.tasks[0]!, chunk: { ...fx.tasks[0]!.chunk, index: 999 } }, emptyHistogram(fx.plan.binning, fx.plan.cuts!.length))));
  await session.publisher.publish(stray.exchange, stray.routingKey, stray.body, stray.options);
  await waitUntil('the partials to be stored', () => plotter.status(ID)?.chunks.done === fx.plan.chunks + 1);
  const early = await http(plotter, `/analyses/${ID}/status`);
  assert.deepEqual([early.status, (early.json as { planned: boolean }).planned, (early.json as { chunks: unknown }).chunks], [200, false, { total: null, done: fx.plan.chunks + 1 }]);
  assert.deepEqual([(early.json as PlotterStatus).stored, (early.json as PlotterStatus).drawn], ['', false], 'without a plan no chunk counts');
  assert.equal((await http(plotter, `/analyses/${ID}/hzz_m4l.png`)).status, 404, 'nothing is drawn without a plan');

  // Finding (issue 11): a plan POSTed first took the analysis id, and the real plan was then
  // dead-lettered. The API is read-only: a foreign plan is refused and takes nothing.
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const forged = await http(plotter, `/analyses/${ID}/plan`, { method, body: JSON.stringify({ ...fx.plan, lumi: 1000 }), headers: { 'content-type': 'application/json' } });
    assert.equal(forged.status, 405, `${method} must be refused`);
  }
  assert.equal(plotter.status(ID)?.planned, false, 'a refused request must not leave a plan behind');
  const plan = planEnvelope(fx.plan);
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);

  const status = await plotter.waitForComplete(ID, 30_000);
  assert.deepEqual(status.chunks, { total: fx.plan.chunks, done: fx.plan.chunks });
  // The stray was held until the plan came; then, not fitting it, it went to the dead letters with the reason.
  const dead = await drain(vhost.url, QUEUES.partialsDead);
  assert.deepEqual(dead.map((m) => [m.properties.messageId, m.properties.headers?.[HEADERS.reason]]), [[`${ID}#c999`, `partial: chunk 999 is beyond the plan's ${fx.plan.chunks} chunks`]]);
  assert.deepEqual(dead[0]!.content, stray.body, 'the dead letter is the partial byte for byte');
  assert.deepEqual(readdirSync(join(out.path, ...ID.split('/'), 'partials')).sort(), fx.tasks.map((t) => `c${t.chunk.index}.json`).sort(), 'and it is no longer stored');
  // What the operator takes completion from: the chunks that count, as ranges, and that all are drawn.
  const served = checked(PlotterStatusSchema, (await http(plotter, `/analyses/${ID}/status`)).json, 'status');
  assert.deepEqual([served.stored, served.drawn, served.complete], [`0-${fx.plan.chunks - 1}`, true, true]);
  assert.equal(((await http(plotter, `/analyses/${ID}/plan.json`)).json as { lumi: number }).lumi, fx.plan.lumi, 'the analysis runs under its own plan');
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  const png = await fetch(`http://127.0.0.1:${plotter.port}/analyses/${ID}/hzz_m4l.png`);
  assert.deepEqual([png.status, png.headers.get('content-type')], [200, 'image/png']);
  const listed = await http(plotter, '/analyses');
  assert.deepEqual((listed.json as { analysis: string }[]).map((s) => s.analysis), [ID]);
});

test('redraws are throttled, the last chunk is drawn at once, and a restart needs only the folder', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('throttle');
  const out = tempDir('throttle');
  const address = brokerFromUrl(vhost.url);
  // An interval far longer than the run: only the plan's draw and the final one may happen.
  const plotter = await startPlotter({ out: out.path, broker: address, port: null, drawIntervalMs: 60_000 });
  const session = openPublishSession(address, { name: 'test', retry });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  const drawn: { done: number; complete: boolean }[] = [];
  plotter.on('drawn', (s: { chunks: { done: number }; complete: boolean }) => drawn.push({ done: s.chunks.done, complete: s.complete }));
  await plotterReady(plotter);

  const plan = planEnvelope(fx.plan);
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
  await waitUntil('the plan to be drawn', () => drawn.length === 1);
  await publishAll(session);
  await plotter.waitForComplete(ID, 30_000);
  assert.deepEqual(drawn, [{ done: 0, complete: false }, { done: fx.plan.chunks, complete: true }]);
  await plotter.stop();

  // No broker at all: everything comes back from the folder.
  const offline = await startPlotter({ out: out.path, broker: null, port: 0, host: '127.0.0.1' });
  t.after(() => offline.stop());
  assert.deepEqual(offline.status(ID)?.chunks, { total: fx.plan.chunks, done: fx.plan.chunks });
  assert.equal(offline.status(ID)?.complete, true);
  assert.deepEqual([offline.status(ID)?.stored, offline.status(ID)?.drawn], [`0-${fx.plan.chunks - 1}`, true], 'a retired analysis still says which chunks it holds');
  assert.deepEqual(histogramsOf(offline.results(ID)!), histogramsOf(fx.expected));
  assert.deepEqual(JSON.parse(readFileSync(join(out.path, 'default', 'higgs', 'g7', 'histograms.json'), 'utf8')), histogramsOf(fx.expected));
  const ready = await http(offline, '/readyz');
  assert.equal(ready.status, 503, 'not ready without a broker');
  assert.equal((await http(offline, `/analyses/${ID}/status`)).status, 200);
  assert.equal((await http(offline, '/analyses/default/a%2F..%2F..%2Fetc/g1/status')).status, 400);
  assert.equal((await http(offline, '/analyses/%2Fetc/g1/hzz_m4l.png')).status, 400);
  assert.equal((await http(offline, '/analyses/default/nope/g1/status')).status, 404);
});

test('a complete analysis keeps its partials on disk only: a late copy of a chunk changes nothing, a restart reads none, and leftovers of interrupted writes go', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('retire');
  const out = tempDir('retire');
  const address = brokerFromUrl(vhost.url);
  const logs: { msg: string; [k: string]: unknown }[] = [];
  const log = (msg: string, fields: Record<string, unknown> = {}) => { logs.push({ msg, ...fields }); };
  const plotter = await startPlotter({ out: out.path, broker: address, port: null, log });
  const session = openPublishSession(address, { name: 'test', retry });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  await plotterReady(plotter);
  const plan = planEnvelope(fx.plan);
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
  await publishAll(session);
  await plotter.waitForComplete(ID, 30_000);
  const dir = join(out.path, ...ID.split('/'));
  const drawnJson = readFileSync(join(dir, 'histograms.json'), 'utf8');
  const chunk0 = readFileSync(join(dir, 'partials', 'c0.json'), 'utf8');

  // A late copy of chunk 0, with other numbers: acked and dropped, nothing redrawn or overwritten.
  let drawn = 0;
  plotter.on('drawn', () => drawn++);
  const copy = partialEnvelope(fx.sign(toPartial(fx.tasks[0]!, emptyHistogram(fx.plan.binning, fx.plan.cuts!.length))));
  await session.publisher.publish(copy.exchange, copy.routingKey, copy.body, copy.options);
  await waitUntil('the copy to be dropped', () => logs.some((l) => l.msg === 'dropped a copy of a chunk of a complete analysis' && l.chunk === 0));
  assert.equal(drawn, 0);
  assert.equal(readFileSync(join(dir, 'histograms.json'), 'utf8'), drawnJson);
  assert.equal(readFileSync(join(dir, 'partials', 'c0.json'), 'utf8'), chunk0);
  // Asked for, the results are read back from the folder: the same numbers.
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  await plotter.stop();

  // What a crash between writing and renaming leaves; the next start removes it, and reads no partial.
  for (const leftover of [join(dir, '.4242.k3j2.tmp'), join(dir, 'partials', '.4242.x9z1.tmp')]) writeFileSync(leftover, '{"half": ');
  logs.length = 0;
  const again = await startPlotter({ out: out.path, broker: null, port: null, log });
  t.after(() => again.stop());
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
  assert.deepEqual(readdirSync(join(dir, 'partials')).filter((n) => n.endsWith('.tmp')), []);
  const rebuilt = logs.find((l) => l.msg === 'rebuilt state from the output folder');
  assert.deepEqual([rebuilt?.analyses, rebuilt?.complete, rebuilt?.partials], [1, 1, 0]);
  assert.equal(again.status(ID)?.complete, true);
  assert.deepEqual(histogramsOf(again.results(ID)!), histogramsOf(fx.expected));
});

test('analysis ids are safe relative paths', () => {
  for (const ok of ['default/higgs/g3', 'run-20250101-1200', 'a.b/c_d/g0']) assert.equal(analysisIdProblem(ok), undefined, ok);
  for (const bad of ['', '/etc/g1', 'a/../b', '..', 'a/./b', 'a//b', '.hidden/x', 'a\\b', 'a/partials/g1', 'a/b c']) assert.ok(analysisIdProblem(bad), bad);
});
