// The operator's decisions without a cluster: reconcile() is pure, so each rule of the contract in
// docs/operator.md is one input and the actions it must produce. Also the stored plan and the chunk
// states it decides from (operator-machinery.test.ts has the rest of the operator's parts).
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCatalogue, selectSamples } from '../core/catalogue.js';
import { planAnalysis } from '../core/chunk-plan.js';
import { AnalysisError } from '../core/contracts/errors.js';
import type { Plan } from '../core/contracts/messages.js';
import { API_VERSION, KIND, type AnalysisSpec, type AnalysisStatus, type HZZAnalysis } from '../operator/api/v1alpha1.js';
import { resolveSpec } from '../operator/api/v1alpha1.js';
import { observeJob, type ChunkAttempt } from '../operator/chunk-status.js';
import { chunkJob, type WorkerConfig } from '../operator/job-spec.js';
import type { ConfigMap, Pod } from '../operator/kube-types.js';
import { ANNOTATIONS, LABELS } from '../operator/naming.js';
import { planConfigMap, planSpecHash, readPlanRecord, tasksOf, type PlanRecord, type Recipe, type StoredPlan } from '../operator/plan-store.js';
import { makePlan, OFFICIAL_URL_PREFIXES } from '../operator/planner.js';
import { reconcile, type Action, type PlotterObservation, type ReconcileInput } from '../operator/reconcile.js';
import type { PlotterStatus } from '../core/contracts/plotter-status.js';
import { DATA_DIR, DEFINITION } from './support/analysis-fixture.js';
import { serveFolder } from './support/http-server.js';
import { manyBasketsDir } from './support/paths.js';

const catalogue = loadCatalogue();
const worker: WorkerConfig = { image: 'hzz-operator:test', command: ['hzz', 'worker'], amqpSecret: { name: 'amqp', key: 'url' } };
const retryWait = { initialMs: 1_000, maxMs: 300_000 };
const partialMasterKey = 'm'.repeat(32);
// HMAC-SHA256('m' × 32, 'uid-1'), computed apart from the code (python3 -c "import hmac; print(hmac.new(b'm'*32, b'uid-1', 'sha256').hexdigest())").
const HIGGS_KEY = '6312cf8cb64531cea83594658c2fc8154561af1d7ef26ead140cf4c293e01b80';
const T0 = Date.parse('2025-01-01T00:00:00Z');

// Two files of 39 and 156 entries in chunks of 50: chunks 0 (data_A 0-39), 1-4 (data_B).
const plan: Plan = {
  schema: 'hzz.plan/v2', analysis: 'ns1/higgs/g1-uid1', release: catalogue.release, lumi: 10, lumiSource: 'set', binning: { lo: 80, hi: 250, width: 5 },
  categories: [{ name: 'data', kind: 'data', label: 'Data', color: '#000000' }],
  samples: [
    { sample: 'data_A', category: 'data', url: '/data/data_A.4lep.root', entries: 39 },
    { sample: 'data_B', category: 'data', url: '/data/data_B.4lep.root', entries: 156 },
  ],
  chunkSize: 50,
  chunks: 5,
  unplanned: [],
};
const recipe: Recipe = { tree: catalogue.tree, energyUnit: catalogue.energyUnit, definition: DEFINITION, volume: { pvc: 'atlas', mountPath: '/data' } };
const stored: StoredPlan = { plan, recipe };
const tasks = tasksOf(stored);

function analysis(spec: Partial<AnalysisSpec> = {}, more: { generation?: number; status?: AnalysisStatus; deleting?: boolean } = {}): HZZAnalysis {
  return {
    apiVersion: API_VERSION, kind: KIND,
    metadata: {
      name: 'higgs', namespace: 'ns1', uid: 'uid-1', generation: more.generation ?? 1, resourceVersion: '7',
      ...(more.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: { samples: ['data_A', 'data_B'], source: { pvc: 'atlas' }, chunkSize: 50, parallelism: 2, ...spec },
    ...(more.status ? { status: more.status } : {}),
  };
}

function record(a: HZZAnalysis, opts: { generation?: number; published?: boolean; content?: StoredPlan | { error: string } } = {}): PlanRecord {
  const cm = planConfigMap(a, opts.generation ?? 1, planSpecHash(resolveSpec(a.spec)), opts.content ?? stored);
  if (opts.published ?? true) cm.metadata.annotations![ANNOTATIONS.planPublished] = 'true';
  return readPlanRecord(cm);
}

type Outcome = 'active' | 'complete' | { exit: number; message: string; at?: number; policy?: boolean };

/** A chunk Job as the operator made it, with the status the Job controller would have given it. */
function attempt(a: HZZAnalysis, chunk: number, n: number, outcome: Outcome, generation = 1): ChunkAttempt {
  const job = chunkJob({ analysis: a, spec: resolveSpec(a.spec), generation, task: tasks[chunk]!, attempt: n, recipe, config: worker });
  job.metadata.uid = `job-${chunk}-${n}`;
  const pods: Pod[] = [];
  if (outcome === 'complete') job.status = { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] };
  else if (outcome === 'active') job.status = { active: 1 };
  else {
    const at = new Date(outcome.at ?? T0).toISOString();
    job.status = { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: outcome.policy ? 'PodFailurePolicy' : 'BackoffLimitExceeded', lastTransitionTime: at }] };
    pods.push({
      metadata: { name: `${job.metadata.name}-x`, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true }] },
      status: { phase: 'Failed', containerStatuses: [{ name: 'worker', state: { terminated: { exitCode: outcome.exit, message: outcome.message, finishedAt: at } } }] },
    });
  }
  return observeJob(job, pods)!;
}

const GRACE_MS = 30_000;

function run(a: HZZAnalysis, attempts: ChunkAttempt[] = [], plans: PlanRecord[] = [record(a)], now = T0, plotter?: PlotterObservation): ReturnType<typeof reconcile> {
  const input: ReconcileInput = { analysis: a, attempts, plans, config: { worker, retryWait, partialMasterKey, partialsGraceMs: GRACE_MS }, now, plotter };
  return reconcile(input);
}

/** The plotter's answer about plan g1 of the fixture: it holds `stored` (ranges) and has drawn them or not. */
function holds(stored: string, drawn = true, more: Partial<PlotterStatus> = {}): PlotterObservation {
  const done = stored === '' ? 0 : stored.split(',').reduce((n, r) => { const [x, y = x] = r.split('-').map(Number); return n + y! - x! + 1; }, 0);
  return {
    kind: 'status',
    status: {
      schema: 'hzz.status/v1', analysis: plan.analysis, planned: true, chunks: { total: plan.chunks, done }, stored, drawn,
      complete: drawn && done === plan.chunks, updatedAt: new Date(T0).toISOString(), ...more,
    },
  };
}
const HOLDS_ALL = holds('0-4');

const ofType = <T extends Action['type']>(actions: Action[], type: T) => actions.filter((x): x is Extract<Action, { type: T }> => x.type === type);
const statusOf = (actions: Action[]): AnalysisStatus => ofType(actions, 'updateStatus')[0]!.status;
const created = (actions: Action[]): string[] => ofType(actions, 'createJob').map((x) => x.job.metadata.name);
const condition = (s: AnalysisStatus, type: string) => s.conditions!.find((c) => c.type === type)!;

test('plan store: the tasks rebuilt from a stored plan are the ones planAnalysis made, cluster-aligned chunks included', async () => {
  // The shared files (one basket each) and a file of 1,000-entry clusters, on one mounted volume.
  const volume = mkdtempSync(join(tmpdir(), 'hzz-pvc-'));
  for (const f of ['data_A', 'data_B', 'data_C', 'data_D']) symlinkSync(join(DATA_DIR, `${f}.4lep.root`), join(volume, `${f}.4lep.root`));
  symlinkSync(join(manyBasketsDir(), 'mc_363490.llll.4lep.root'), join(volume, 'mc_363490.llll.4lep.root'));
  const a = analysis({ samples: ['data', 'llll'], chunkSize: 2_345 });
  const spec = resolveSpec(a.spec);
  const made = await makePlan(a, spec, 1, new Map([['atlas', volume]]));
  assert.ok('plan' in made, JSON.stringify(made));
  assert.deepEqual(made.plan.samples.map((s) => s.clusterEntries), [undefined, undefined, undefined, undefined, 1_000]);
  const back = readPlanRecord(planConfigMap(a, 1, planSpecHash(spec), made));
  assert.ok('plan' in back);
  const planned = await planAnalysis({
    analysis: made.plan.analysis, catalogue, samples: selectSamples(catalogue, ['data', 'llll']), source: volume, lumi: 10,
    definition: DEFINITION, chunkSize: 2_345,
  });
  assert.deepEqual(tasksOf(back), planned.tasks);
  assert.ok(planned.tasks.some((t) => t.xsecWeight !== undefined) && planned.tasks.some((t) => t.xsecWeight === undefined));
  assert.ok(planned.tasks.filter((t) => t.chunk.sample === 'llll').every((t) => t.chunk.entryStop - t.chunk.entryStart === 2_000));
});

test('planner: a urlPrefix outside the allow-list is refused by name, before anything is fetched; one inside is planned', async () => {
  const server = await serveFolder(DATA_DIR);
  try {
    const a = analysis({ samples: ['data_A'], source: { urlPrefix: server.url } });
    const refused = await makePlan(a, resolveSpec(a.spec), 1, new Map());
    assert.ok('error' in refused, JSON.stringify(refused));
    assert.equal(refused.error, `spec.source.urlPrefix '${server.url}': is not allowed: this operator reads only from ${OFFICIAL_URL_PREFIXES.join(', ')} (operator flag --allowed-url-prefix, chart value operator.allowedUrlPrefixes)`);
    assert.deepEqual(OFFICIAL_URL_PREFIXES, ['https://atlas-opendata.web.cern.ch/', 'https://opendata.cern.ch/']);
    assert.equal(server.requests.length, 0, 'nothing was fetched');
    // A prefix that only looks like an allowed one (another host, a longer name) is no way round it.
    for (const urlPrefix of ['https://atlas-opendata.web.cern.ch.evil.example/', 'https://opendata.cern.ch@127.0.0.1/']) {
      const b = analysis({ samples: ['data_A'], source: { urlPrefix } });
      assert.ok('error' in await makePlan(b, resolveSpec(b.spec), 1, new Map()), urlPrefix);
    }
    const allowed = await makePlan(a, resolveSpec(a.spec), 1, new Map(), [server.url]);
    assert.ok('plan' in allowed, JSON.stringify(allowed));
    assert.equal(allowed.plan.samples[0]!.url, `${server.url}Data/data_A.4lep.root`);
  } finally {
    await server.close();
  }
});

test('planner: a server that stalls after the header fails the planning as transient, naming the file, instead of holding the reconcile worker', async () => {
  const server = await serveFolder(DATA_DIR, { stall: (_, range) => range !== 'bytes=0-63' });
  process.env.HZZ_READ_TIMEOUT_SECONDS = '1';
  try {
    const a = analysis({ samples: ['data_A'], source: { urlPrefix: server.url } });
    await assert.rejects(makePlan(a, resolveSpec(a.spec), 1, new Map(), [server.url]), (err: unknown) => {
      assert.ok(err instanceof AnalysisError && err.kind === 'transient', String(err));
      assert.match(err.message, /data_A: opening of data_A\.4lep\.root: no answer from http:\/\/127\.0\.0\.1:\d+\/Data\/data_A\.4lep\.root within 1 s/);
      return true;
    });
  } finally {
    delete process.env.HZZ_READ_TIMEOUT_SECONDS;
    await server.close();
  }
});

test('planner: an inline catalogue whose sample path leaves its source is a failed plan naming it', async () => {
  const a = analysis({ samples: ['data_A'], catalogue: { samples: [{ ...catalogue.samples[0]!, path: '../../etc/passwd' }] } });
  const made = await makePlan(a, resolveSpec(a.spec), 1, new Map([['atlas', DATA_DIR]]));
  assert.ok('error' in made, JSON.stringify(made));
  assert.match(made.error, /^sample 'data_A' path '\.\.\/\.\.\/etc\/passwd': has a '\.\.' segment/);
});

test('plan store: a damaged ConfigMap reads as a failed plan, an error as itself', () => {
  const cm: ConfigMap = planConfigMap(analysis(), 2, 'h', stored);
  cm.data!['plan.json'] = '{"schema": "nope"}';
  const damaged = readPlanRecord(cm);
  assert.ok('error' in damaged && /unreadable/.test(damaged.error));
  assert.equal(damaged.generation, 2);
  const failed = readPlanRecord(planConfigMap(analysis(), 1, 'h', { error: 'sample x: not a ROOT file' }));
  assert.ok('error' in failed && failed.error === 'sample x: not a ROOT file');
});

test('plan: spec.analysis names the definition the plan and every task carry; spec.binning rebins its first histogram', async () => {
  // The files from a mounted volume: a urlPrefix is a URL inside the operator's allow-list, never a folder.
  const a = analysis({ analysis: 'atlas-2020-4lep-rev2024', samples: ['data_A'], binning: { lo: 100, hi: 200, width: 10 } });
  const made = await makePlan(a, resolveSpec(a.spec), 1, new Map([['atlas', DATA_DIR]]));
  assert.ok('plan' in made, JSON.stringify(made));
  assert.deepEqual(made.plan.cuts, ['leading lepton pT', 'sub-leading lepton pT', 'third-leading lepton pT', 'lepton type', 'lepton charge']);
  assert.deepEqual(made.plan.histograms!.map((h) => [h.name, h.binning.lo]), [['m4l', 100], ['leading_lep_pt', 0], ['sub_leading_lep_pt', 0], ['third_leading_lep_pt', 0], ['last_lep_pt', 0]]);
  const tasks = tasksOf(made);
  assert.ok(tasks.length > 0 && tasks.every((t) => t.definition.name === 'atlas-2020-4lep-rev2024' && t.definition.histograms[0]!.binning.width === 10));
});

test('plan: spec.analysisDefinition is the definition the plan and every task carry, in its own binning; a bad formula fails the plan naming it', async () => {
  const volume = new Map([['atlas', DATA_DIR]]);
  const mine = { ...DEFINITION, name: 'mine', histograms: [{ ...DEFINITION.histograms[0]!, binning: { lo: 100, hi: 200, width: 2.5 } }] };
  const a = analysis({ analysisDefinition: mine, samples: ['data_A'] });
  const made = await makePlan(a, resolveSpec(a.spec), 1, volume);
  assert.ok('plan' in made, JSON.stringify(made));
  assert.deepEqual(made.plan.binning, { lo: 100, hi: 200, width: 2.5 }, "no spec.binning: the definition's own");
  const tasks = tasksOf(made);
  assert.ok(tasks.length > 0 && tasks.every((t) => JSON.stringify(t.definition) === JSON.stringify(mine)));

  const typo = { ...DEFINITION, name: 'typo', weight: 'xsecWeight * mcWeigth' };
  const b = analysis({ analysisDefinition: typo, samples: ['data_A'] });
  const failed = await makePlan(b, resolveSpec(b.spec), 1, volume);
  assert.ok('error' in failed, JSON.stringify(failed));
  assert.match(failed.error, /^analysis typo: weight: formula "xsecWeight \* mcWeigth" at character 14, here: "mcWeigth": unknown name 'mcWeigth'/);
});

test('plan identity: only fields that shape the plan change its hash', () => {
  const base = resolveSpec(analysis().spec);
  const same = (s: Partial<AnalysisSpec>) => planSpecHash(resolveSpec({ ...analysis().spec, ...s })) === planSpecHash(base);
  assert.ok(same({ parallelism: 9 }) && same({ retriesPerChunk: 0 }) && same({ maxFailedChunks: 4 }) && same({ image: 'other' }));
  assert.ok(!same({ chunkSize: 51 }) && !same({ binning: { lo: 80, hi: 250, width: 10 } }) && !same({ samples: ['data_A'] }) && !same({ output: 'runs' }));
  assert.ok(!same({ analysis: 'atlas-2020-4lep-rev2024' }), 'another analysis definition is another plan');
  const hash = (s: Partial<AnalysisSpec>) => planSpecHash(resolveSpec({ ...analysis().spec, ...s }));
  assert.equal(hash({ binning: { lo: 80, hi: 250, width: 5 } }), hash({ binning: { width: 5, hi: 250, lo: 80 } }), 'key order does not matter');
  const inline = DEFINITION;
  assert.ok(!same({ analysisDefinition: inline }), 'an inline definition is another plan');
  const reordered = Object.fromEntries(Object.entries(inline).reverse()) as typeof inline;
  assert.equal(hash({ analysisDefinition: inline }), hash({ analysisDefinition: reordered }), 'key order of an inline definition does not matter');
  const changed = { ...inline, cuts: [{ name: 'lepton charge', formula: 'sum(lep_charge[0:4]) != 0' }] };
  assert.notEqual(hash({ analysisDefinition: inline }), hash({ analysisDefinition: changed }), 'a changed inline cut is another plan');
});

test('reconcile: a new analysis is planned first, and shows Planning', () => {
  const a = analysis();
  const { actions, requeueAfterMs } = run(a, [], []);
  assert.deepEqual(ofType(actions, 'plan'), [{ type: 'plan', generation: 1, specHash: planSpecHash(resolveSpec(a.spec)) }]);
  assert.equal(requeueAfterMs, 0);
  const s = statusOf(actions);
  assert.equal(s.phase, 'Planning');
  assert.equal(s.output?.path, '/ns1/higgs/g1-uid1/hzz_m4l.png');
  assert.equal(s.selector, 'hzz.opendata.dev/analysis=higgs,hzz.opendata.dev/generation=1');
  assert.deepEqual(s.conditions!.map((c) => [c.type, c.status, c.reason]), [['Progressing', 'True', 'Planning'], ['Ready', 'False', 'Planning'], ['Degraded', 'False', 'NoFailures']]);
  assert.deepEqual(created(actions), []);
});

test('reconcile: a failed plan fails the analysis with its reason, once', () => {
  const a = analysis();
  const { actions } = run(a, [], [record(a, { content: { error: "sample 'x': not a ROOT file" } })]);
  const s = statusOf(actions);
  assert.equal(s.phase, 'Failed');
  assert.deepEqual([condition(s, 'Degraded').status, condition(s, 'Degraded').reason, condition(s, 'Degraded').message], ['True', 'PlanFailed', "sample 'x': not a ROOT file"]);
  assert.deepEqual(ofType(actions, 'event').map((e) => [e.event.type, e.event.reason]), [['Warning', 'Failed']]);
  assert.deepEqual(ofType(actions, 'plan'), []);
});

test('reconcile: the plan goes to the plotter before any Job, with the analysis\'s partial key (the ConfigMap has none)', () => {
  const a = analysis();
  const stored = record(a, { published: false });
  assert.ok('plan' in stored && stored.plan.partialKey === undefined);
  const { actions } = run(a, [], [stored]);
  assert.deepEqual(ofType(actions, 'publishPlan').map((x) => [x.configMap, x.plan]), [['higgs-g1-plan', { ...plan, partialKey: HIGGS_KEY }]]);
  assert.deepEqual(created(actions), []);
  assert.equal(statusOf(actions).chunks?.total, 5);
});

test('reconcile: chunk Jobs start in chunk order, spec.parallelism at a time', () => {
  const a = analysis();
  const { actions } = run(a);
  assert.deepEqual(created(actions), ['higgs-g1-c0', 'higgs-g1-c1']);
  // The Secret the Jobs read their key from comes first.
  const order = actions.map((x) => x.type).filter((t) => t === 'ensurePartialKey' || t === 'createJob');
  assert.deepEqual(order, ['ensurePartialKey', 'createJob', 'createJob']);
  const secret = ofType(actions, 'ensurePartialKey')[0]!.secret;
  assert.deepEqual([secret.metadata.namespace, secret.metadata.name, secret.immutable], ['ns1', 'higgs-partial-key', true]);
  assert.deepEqual(secret.metadata.ownerReferences, [{ apiVersion: API_VERSION, kind: KIND, name: 'higgs', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(secret.data, { key: Buffer.from(HIGGS_KEY).toString('base64') });
  const s = statusOf(actions);
  assert.deepEqual([s.phase, s.running, s.progress], ['Running', 2, '0/5']);
  assert.deepEqual(s.chunks, { total: 5, succeeded: 0, failed: 0, running: 2, pending: 3 });
  assert.deepEqual(ofType(actions, 'event').map((e) => e.event.reason), ['Planned']);

  const job = ofType(actions, 'createJob')[1]!.job;
  assert.deepEqual(job.metadata.labels, {
    [LABELS.analysis]: 'higgs', [LABELS.generation]: '1', [LABELS.chunk]: '1', [LABELS.attempt]: '0', [LABELS.round]: '0',
    'app.kubernetes.io/managed-by': 'hzz-operator', 'app.kubernetes.io/component': 'worker',
  });
  assert.deepEqual(job.metadata.ownerReferences, [{ apiVersion: API_VERSION, kind: KIND, name: 'higgs', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
  const spec = job.spec as { backoffLimit: number; activeDeadlineSeconds: number; podFailurePolicy: { rules: { action: string; onExitCodes?: { values: number[] } }[] }; template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[]; volumeMounts: unknown[] }[]; volumes: unknown[] } } };
  assert.equal(spec.backoffLimit, 0);
  assert.equal(spec.activeDeadlineSeconds, 3600, 'a hung worker is stopped by the Job controller');
  assert.deepEqual(spec.podFailurePolicy.rules[0], { action: 'FailJob', onExitCodes: { containerName: 'worker', operator: 'In', values: [2] } });
  const [container] = spec.template.spec.containers;
  assert.deepEqual(JSON.parse(container!.env.find((e) => e.name === 'HZZ_TASK')!.value!), tasks[1]);
  assert.deepEqual(container!.env.find((e) => e.name === 'HZZ_AMQP_URL')!.valueFrom, { secretKeyRef: { name: 'amqp', key: 'url' } });
  assert.deepEqual(container!.env.find((e) => e.name === 'HZZ_PARTIAL_KEY'), { name: 'HZZ_PARTIAL_KEY', valueFrom: { secretKeyRef: { name: 'higgs-partial-key', key: 'key' } } });
  assert.ok(!JSON.stringify(job).includes(HIGGS_KEY), 'the key itself is nowhere in the Job');
  assert.deepEqual(container!.volumeMounts, [{ name: 'data', mountPath: '/data', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }]);
  assert.deepEqual(spec.template.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'atlas', readOnly: true } }, { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
});

test('reconcile: each analysis its own partial key, derived from its uid: the same for every generation and every operator with the master key', () => {
  const publishedKey = (a: HZZAnalysis, generation = 1, masterKey = partialMasterKey): string | undefined => {
    const input: ReconcileInput = { analysis: a, attempts: [], plans: [record(a, { generation, published: false })], config: { worker, retryWait, partialMasterKey: masterKey, partialsGraceMs: GRACE_MS }, now: T0 };
    return ofType(reconcile(input).actions, 'publishPlan')[0]!.plan.partialKey;
  };
  const a = analysis();
  const recreated = { ...a, metadata: { ...a.metadata, uid: 'uid-2' } };
  const elsewhere = { ...a, metadata: { ...a.metadata, namespace: 'ns2', uid: 'uid-3' } };
  assert.equal(publishedKey(a), HIGGS_KEY);
  assert.equal(publishedKey(analysis({ chunkSize: 10 }, { generation: 2 }), 2), HIGGS_KEY, 'a re-planned generation keeps the key');
  const others = [publishedKey(recreated), publishedKey(elsewhere), publishedKey(a, 1, 'n'.repeat(32))];
  assert.equal(new Set([HIGGS_KEY, ...others]).size, 4, 'a new uid, another analysis, another master key: another key');
});

test('reconcile: scaling changes how many Jobs run, never restarts the plan', () => {
  const running = (a: HZZAnalysis) => [attempt(a, 0, 0, 'active'), attempt(a, 1, 0, 'active')];
  const two = analysis({ parallelism: 2 });
  assert.deepEqual(created(run(two, running(two)).actions), []);
  // kubectl scale bumps the generation; the plan (and its Jobs) stay.
  const three = analysis({ parallelism: 3 }, { generation: 2 });
  const up = run(three, running(three), [record(two)]);
  assert.deepEqual(created(up.actions), ['higgs-g1-c2']);
  assert.deepEqual(ofType(up.actions, 'deleteJob'), []);
  assert.equal(statusOf(up.actions).observedGeneration, 2);
  assert.equal(statusOf(up.actions).planGeneration, 1);
  const one = analysis({ parallelism: 1 }, { generation: 3 });
  const down = run(one, running(one), [record(two)]);
  assert.deepEqual([created(down.actions), ofType(down.actions, 'deleteJob')], [[], []], 'running chunks finish, none is killed');
  const paused = run(analysis({ parallelism: 0 }), []);
  assert.deepEqual(created(paused.actions), []);
  const s = statusOf(paused.actions);
  assert.deepEqual([s.phase, condition(s, 'Progressing').status, condition(s, 'Progressing').reason], ['Pending', 'False', 'Paused']);
});

test('reconcile: a retryable failure is retried after the backoff, as a new Job', () => {
  const a = analysis({ retriesPerChunk: 2 });
  const failedOnce = [attempt(a, 0, 0, { exit: 3, message: 'transient failure: broker gone', at: T0 }), attempt(a, 1, 0, 'active')];
  const early = run(a, failedOnce, [record(a)], T0 + 400);
  assert.deepEqual(created(early.actions), ['higgs-g1-c2'], 'chunk 0 waits for its backoff; the free slot goes on');
  assert.equal(early.requeueAfterMs, 600);
  const later = run(a, failedOnce, [record(a)], T0 + 1_000);
  assert.deepEqual(created(later.actions), ['higgs-g1-c0-a1']);
  const retryJob = ofType(later.actions, 'createJob')[0]!;
  assert.equal(retryJob.job.metadata.labels![LABELS.attempt], '1');
  assert.deepEqual(retryJob.event, { type: 'Warning', reason: 'RetryingChunk', message: 'chunk 0 (data_A entries 0-39): attempt 2 of 3 after exit 3: transient failure: broker gone' });
  // The second retry waits twice as long.
  const twice = [attempt(a, 0, 0, { exit: 3, message: 'x', at: T0 }), attempt(a, 0, 1, { exit: 1, message: 'crash', at: T0 }), attempt(a, 1, 0, 'active')];
  assert.equal(run(a, twice, [record(a)], T0 + 1_000).requeueAfterMs, 1_000);
  assert.deepEqual(created(run(a, twice, [record(a)], T0 + 2_000).actions), ['higgs-g1-c0-a2']);
});

test('reconcile: bad input (exit 2) is never retried, and past maxFailedChunks the analysis fails naming the chunk', () => {
  const a = analysis({ retriesPerChunk: 3, maxFailedChunks: 0 });
  const attempts = [
    attempt(a, 0, 0, 'complete'),
    attempt(a, 1, 0, { exit: 2, message: 'bad input: /data/data_B.4lep.root: not a ROOT file', policy: true }),
    attempt(a, 2, 0, 'active'),
  ];
  const { actions } = run(a, attempts, [record(a)], T0 + 3_600_000);
  assert.deepEqual(created(actions), []);
  assert.deepEqual(ofType(actions, 'deleteJob').map((d) => d.name), ['higgs-g1-c2'], 'the running attempt is stopped');
  const s = statusOf(actions);
  assert.equal(s.phase, 'Failed');
  const degraded = condition(s, 'Degraded');
  assert.deepEqual([degraded.status, degraded.reason], ['True', 'TooManyFailedChunks']);
  assert.equal(degraded.message, '1 chunk failed, more than maxFailedChunks (0): chunk 1 (data_B entries 0-50) failed after 1 attempt: exit 2: bad input: /data/data_B.4lep.root: not a ROOT file');
  assert.deepEqual(ofType(actions, 'event').map((e) => [e.event.type, e.event.reason]), [['Warning', 'Failed']]);
});

test('reconcile: retries are used up, then the chunk counts as failed', () => {
  const a = analysis({ retriesPerChunk: 1, maxFailedChunks: 1, parallelism: 5 });
  const attempts = [
    attempt(a, 0, 0, { exit: 3, message: 'transient failure: a' }), attempt(a, 0, 1, { exit: 3, message: 'transient failure: b' }),
    ...[1, 2, 3, 4].map((i) => attempt(a, i, 0, 'complete')),
  ];
  const { actions } = run(a, attempts, [record(a)], T0 + 3_600_000, holds('1-4'));
  assert.deepEqual(created(actions), []);
  const s = statusOf(actions);
  assert.deepEqual([s.phase, s.progress, s.chunks?.failed], ['Succeeded', '4/5', 1], 'one failed chunk is tolerated');
  assert.deepEqual([condition(s, 'Ready').status, condition(s, 'Degraded').status, condition(s, 'Degraded').reason], ['True', 'True', 'ChunksFailed']);
  assert.match(condition(s, 'Degraded').message, /^chunk 0 \(data_A entries 0-39\) failed after 2 attempts: exit 3: transient failure: b$/);
});

test('reconcile: every chunk done and held by the plotter → Succeeded and Ready; reconciling again changes nothing', () => {
  const a = analysis();
  const done = [0, 1, 2, 3, 4].map((i) => attempt(a, i, 0, 'complete'));
  const first = run(a, done, [record(a)], T0, HOLDS_ALL);
  const s = statusOf(first.actions);
  assert.deepEqual([s.phase, s.progress, s.running], ['Succeeded', '5/5', 0]);
  assert.deepEqual([condition(s, 'Ready').status, condition(s, 'Ready').reason], ['True', 'Succeeded']);
  assert.match(condition(s, 'Ready').message, /\/ns1\/higgs\/g1-uid1\/hzz_m4l\.png/);
  assert.deepEqual(ofType(first.actions, 'event').map((e) => e.event.reason), ['Succeeded']);
  assert.equal(s.succeededChunks, '0-4');
  assert.deepEqual(ofType(first.actions, 'deleteJob'), [], 'no Job goes before the status that records its chunk is stored');
  const again = run(analysis({}, { status: s }), done, [record(a)], T0 + 60_000);
  assert.deepEqual(again.actions.map((x) => x.type), Array(5).fill('deleteJob'), 'no status write, no event: the transition times stay; the recorded chunks\' Jobs go');
  assert.equal(again.asksPlotter, undefined, 'a Succeeded analysis does not ask the plotter again');
  assert.deepEqual(run(analysis({}, { status: s }), [], [record(a)], T0 + 120_000).actions, [], 'without its Jobs, the analysis stays Succeeded');
});

// Succeeded means the plotter has every chunk: a Job that exited 0 handed its partial to the
// broker, where another consumer may have taken it.
const allDone = (a: HZZAnalysis): ChunkAttempt[] => [0, 1, 2, 3, 4].map((i) => attempt(a, i, 0, 'complete'));

test('reconcile: every Job done asks the plotter, and the analysis stays Running until it holds every chunk and has drawn', () => {
  const a = analysis();
  const unasked = run(a, allDone(a));
  assert.equal(unasked.asksPlotter, 'ns1/higgs/g1-uid1', 'asks about the running plan\'s id');
  assert.equal(statusOf(unasked.actions).phase, 'Running');
  assert.equal(run(a, [attempt(a, 0, 0, 'complete'), attempt(a, 1, 0, 'active')]).asksPlotter, undefined, 'not while a Job runs');

  const drawing = statusOf(run(a, allDone(a), [record(a)], T0, holds('0-4', false)).actions);
  assert.deepEqual([drawing.phase, condition(drawing, 'Ready').reason], ['Running', 'AwaitingPlot']);
  assert.deepEqual(drawing.plotter, { reachable: true, storedChunks: '0-4', drawn: false, changedAt: '2025-01-01T00:00:00Z', reruns: 0 });
  const done = statusOf(run(analysis({}, { status: drawing }), allDone(a), [record(a)], T0 + 2_000, HOLDS_ALL).actions);
  assert.deepEqual([done.phase, condition(done, 'Ready').status, done.plotter?.storedChunks], ['Succeeded', 'True', '0-4']);
  assert.match(condition(done, 'Ready').message, /^5\/5 chunks in and drawn by the plotter; the plot is at \/ns1\/higgs\/g1-uid1\/hzz_m4l\.png/);
});

test('reconcile: chunks the plotter lacks wait out the grace, then run again as new Jobs of a new round', () => {
  const a = analysis({ parallelism: 4 });
  const lacking = holds('0,2,4');
  const first = run(a, allDone(a), [record(a)], T0, lacking);
  const s1 = statusOf(first.actions);
  assert.deepEqual([s1.phase, condition(s1, 'Ready').reason, created(first.actions)], ['Running', 'PartialsMissing', []]);
  assert.match(condition(s1, 'Ready').message, /^the plotter holds 3\/5 chunks and lacks 1,3, whose Jobs succeeded; they run again if none comes within 30 s$/);
  assert.equal(first.requeueAfterMs, 1_000, 'polled soon at first');

  // The answer unchanged for 20 s: still waiting, the poll backed off; no status write (nothing changed).
  const waiting = run(analysis(a.spec, { status: s1 }), allDone(a), [record(a)], T0 + 20_000, lacking);
  assert.deepEqual([created(waiting.actions), waiting.requeueAfterMs], [[], 10_000]);
  // The plotter's count moving (a partial came in) restarts the wait.
  const moved = statusOf(run(analysis(a.spec, { status: s1 }), allDone(a), [record(a)], T0 + 29_000, holds('0-2,4')).actions);
  assert.equal(moved.plotter?.changedAt, '2025-01-01T00:00:29Z');

  // The grace over, unchanged: chunks 1 and 3 lose their record and run again, round 1.
  const rerun = run(analysis(a.spec, { status: s1 }), allDone(a), [record(a)], T0 + GRACE_MS, lacking);
  assert.deepEqual(created(rerun.actions), ['higgs-g1-c1-r1', 'higgs-g1-c3-r1']);
  assert.equal(ofType(rerun.actions, 'createJob')[0]!.job.metadata.labels![LABELS.round], '1');
  const s2 = statusOf(rerun.actions);
  assert.deepEqual([s2.phase, s2.succeededChunks, s2.chunks?.running, s2.plotter?.reruns, s2.plotter?.rerunChunks], ['Running', '0,2,4', 2, 1, '1,3']);
  assert.deepEqual([condition(s2, 'Degraded').status, condition(s2, 'Degraded').reason], ['True', 'PartialsMissing']);
  assert.match(condition(s2, 'Degraded').message, /lacked chunks 1,3 although their Jobs had succeeded: running them again \(round 1 of at most 3\)/);
  assert.deepEqual(ofType(rerun.actions, 'event').map((e) => [e.event.type, e.event.reason]), [['Warning', 'PartialsMissing']]);

  // The first round's Jobs of chunks 1 and 3, still in the cache, do not count for the new round.
  const again = run(analysis(a.spec, { status: s2 }), allDone(a), [record(a)], T0 + GRACE_MS + 1_000);
  assert.deepEqual(created(again.actions), ['higgs-g1-c1-r1', 'higgs-g1-c3-r1'], 'the round\'s Jobs are created (AlreadyExists if they are)');
  assert.deepEqual(ofType(again.actions, 'deleteJob').map((d) => d.name).sort(), ['higgs-g1-c0', 'higgs-g1-c2', 'higgs-g1-c4'], 'only the recorded chunks\' Jobs go');

  // The new round's Jobs done, the plotter holding all: Succeeded, the degradation gone.
  const newRound = [0, 2, 4].map((i) => attempt(a, i, 0, 'complete'))
    .concat([1, 3].map((i) => ({ ...attempt(a, i, 0, 'complete'), job: `higgs-g1-c${i}-r1`, round: 1 })));
  const finishing = run(analysis(a.spec, { status: s2 }), newRound, [record(a)], T0 + 60_000);
  assert.equal(finishing.asksPlotter, 'ns1/higgs/g1-uid1');
  const s3 = statusOf(run(analysis(a.spec, { status: s2 }), newRound, [record(a)], T0 + 60_000, HOLDS_ALL).actions);
  assert.deepEqual([s3.phase, s3.succeededChunks, condition(s3, 'Degraded').reason], ['Succeeded', '0-4', 'NoFailures']);
});

test('reconcile: chunks still missing after spec.retriesPerChunk rounds fail the analysis, naming them', () => {
  const a = analysis({ retriesPerChunk: 1 });
  const view = { reachable: true, storedChunks: '0-2,4', drawn: true, changedAt: '2025-01-01T00:00:00Z', reruns: 1, rerunChunks: '3' };
  const prior = statusOf(run(a, allDone(a), [record(a)], T0, holds('0-2,4')).actions);
  const lastRound = [0, 1, 2, 4].map((i) => attempt(a, i, 0, 'complete')).concat({ ...attempt(a, 3, 0, 'complete'), job: 'higgs-g1-c3-r1', round: 1 });
  const { actions } = run(analysis(a.spec, { status: { ...prior, plotter: view } }), lastRound, [record(a)], T0 + GRACE_MS, holds('0-2,4'));
  const s = statusOf(actions);
  assert.deepEqual([s.phase, condition(s, 'Ready').reason, created(actions)], ['Failed', 'PartialsMissing', []]);
  assert.match(condition(s, 'Degraded').message, /^the plotter holds 4\/5 chunks and lacks 3, whose Jobs succeeded, after 1 round of running them again \(spec.retriesPerChunk 1\)/);
  assert.deepEqual(ofType(actions, 'event').map((e) => [e.event.type, e.event.reason]), [['Warning', 'Failed']]);
  const after = run(analysis(a.spec, { status: s }), lastRound, [record(a)], T0 + 3_600_000);
  assert.equal(after.asksPlotter, undefined, 'a failed analysis does not ask the plotter again');
  assert.deepEqual(after.actions.filter((x) => x.type !== 'deleteJob'), [], 'and stays as it is');
});

test('reconcile: a plotter that is down is a condition, never a reason to run chunks again; its poll backs off to 30 s', () => {
  const a = analysis();
  const down: PlotterObservation = { kind: 'unreachable', error: 'GET http://plotter:8080/analyses/ns1/higgs/g1-uid1/status: fetch failed' };
  const first = run(a, allDone(a), [record(a)], T0, down);
  const s = statusOf(first.actions);
  assert.deepEqual([s.phase, condition(s, 'Ready').reason, condition(s, 'Degraded').reason, first.requeueAfterMs], ['Running', 'PlotterUnreachable', 'NoFailures', 1_000]);
  assert.match(condition(s, 'Ready').message, /the plotter cannot say what it holds: GET http:\/\/plotter:8080\/.*fetch failed$/);
  const hourLater = run(analysis({}, { status: s }), allDone(a), [record(a)], T0 + 3_600_000, down);
  assert.deepEqual([created(hourLater.actions), hourLater.requeueAfterMs], [[], 30_000]);
  // Back, and lacking a chunk: the grace starts when it answers, not when it went down.
  const back = statusOf(run(analysis({}, { status: s }), allDone(a), [record(a)], T0 + 3_600_000, holds('0-3')).actions);
  assert.deepEqual([back.plotter?.reachable, back.plotter?.changedAt, condition(back, 'Ready').reason], [true, '2025-01-01T01:00:00Z', 'PartialsMissing']);
  // An answer naming chunks the plan does not have is no answer.
  const odd = statusOf(run(a, allDone(a), [record(a)], T0, holds('0-9')).actions);
  assert.deepEqual([odd.phase, condition(odd, 'Ready').reason], ['Running', 'PlotterUnreachable']);
});

test('reconcile: a plotter without the plan gets it again; one whose drawing failed for good fails the analysis', () => {
  const a = analysis();
  for (const answer of [{ kind: 'unknown' } as const, holds('', false, { planned: false, chunks: { total: null, done: 0 } })]) {
    const { actions } = run(a, allDone(a), [record(a)], T0, answer);
    assert.deepEqual(ofType(actions, 'publishPlan').map((p) => [p.configMap, p.plan.analysis]), [['higgs-g1-plan', 'ns1/higgs/g1-uid1']]);
    assert.equal(condition(statusOf(actions), 'Ready').reason, 'PlanNotWithPlotter');
  }
  const failed = statusOf(run(a, allDone(a), [record(a)], T0, holds('0-4', false, { failed: 'bin sums overflow' })).actions);
  assert.deepEqual([failed.phase, condition(failed, 'Ready').reason], ['Failed', 'PlotFailed']);
  assert.match(condition(failed, 'Degraded').message, /cannot draw ns1\/higgs\/g1-uid1: bin sums overflow/);
});

test('reconcile: a succeeded chunk\'s Jobs are deleted once the stored status records it, and it is never run again', () => {
  const a = analysis();
  // Chunk 1 failed once and succeeded on its retry; chunks 0 and 2 run.
  const jobs = [attempt(a, 0, 0, 'active'), attempt(a, 1, 0, { exit: 3, message: 'transient' }), attempt(a, 1, 1, 'complete'), attempt(a, 2, 0, 'active')];
  const first = run(analysis({ parallelism: 2 }), jobs);
  const s = statusOf(first.actions);
  assert.deepEqual([s.succeededChunks, s.chunks?.succeeded, created(first.actions)], ['1', 1, []]);
  assert.deepEqual(ofType(first.actions, 'deleteJob'), []);
  const later = run(analysis({ parallelism: 2 }, { status: s }), jobs);
  assert.deepEqual(ofType(later.actions, 'deleteJob').map((x) => x.name).sort(), ['higgs-g1-c1', 'higgs-g1-c1-a1'], 'both attempts of the recorded chunk');
  const gone = run(analysis({ parallelism: 2 }, { status: s }), jobs.filter((j) => j.chunk !== 1));
  assert.deepEqual([created(gone.actions), gone.actions.some((x) => x.type === 'updateStatus')], [[], false], 'chunk 1 stays succeeded without its Jobs');
  // A record from another plan, or one that does not parse, counts for nothing.
  for (const status of [{ ...s, planGeneration: 0 }, { ...s, succeededChunks: '1-99' }]) {
    assert.deepEqual(created(run(analysis({ parallelism: 3 }, { status }), jobs.filter((j) => j.chunk !== 1)).actions), ['higgs-g1-c1']);
  }
});

test('reconcile: the status is as large at 2,000 chunks as at 20, whatever ran and failed', () => {
  const sizeAt = (chunks: number): number => {
    const big: StoredPlan = { plan: { ...plan, samples: [{ ...plan.samples[0]!, entries: chunks * 50 }], chunks }, recipe };
    const a = analysis({ samples: ['data_A'], parallelism: 8, maxFailedChunks: 5 });
    const mid = Math.floor(chunks / 2);
    const jobs = Array.from({ length: chunks }, (_, i) => i).flatMap((i): ChunkAttempt[] => {
      const job = (outcome: 'active' | 'complete' | 'bad'): ChunkAttempt => ({
        job: `higgs-g1-c${i}`, generation: 1, chunk: i, attempt: 0, round: 0, deleting: false,
        ...(outcome === 'bad' ? { state: 'failed', finishedAt: T0, failure: { kind: 'bad-input', message: `exit 2: bad input: chunk ${i}` } } : { state: outcome === 'active' ? 'active' : 'succeeded' }),
      });
      if (i === 3 || i === mid - 2) return [job('bad')];
      if (i < mid) return [job('complete')];
      return i < mid + 8 ? [job('active')] : [];
    });
    const first = statusOf(run(a, jobs, [record(a, { content: big })]).actions);
    // Then with the recorded chunks' Jobs gone, as the operator leaves it.
    const next = run(analysis(a.spec, { status: first }), jobs.filter((j) => j.state !== 'succeeded'), [record(a, { content: big })]);
    const s = ofType(next.actions, 'updateStatus')[0]?.status ?? first;
    assert.equal(s.chunks?.succeeded, mid - 2);
    return Buffer.byteLength(JSON.stringify(s));
  };
  const [small, large] = [sizeAt(20), sizeAt(2_000)];
  assert.ok(Math.abs(large - small) <= 32, `status ${small} bytes at 20 chunks, ${large} at 2,000: only the digits may differ`);
});

test('reconcile: a spec change that shapes the plan replans under the new generation and deletes the old plan', () => {
  const old = analysis();
  const oldStatus = statusOf(run(old, [attempt(old, 0, 0, 'complete')]).actions);
  const changed = analysis({ chunkSize: 100 }, { generation: 2, status: oldStatus });
  const { actions } = run(changed, [attempt(old, 0, 0, 'complete'), attempt(old, 1, 0, 'active')], [record(old)]);
  assert.deepEqual(ofType(actions, 'plan').map((p) => p.generation), [2]);
  assert.deepEqual(ofType(actions, 'deleteJob').map((d) => d.name), ['higgs-g1-c0', 'higgs-g1-c1']);
  assert.deepEqual(ofType(actions, 'deleteConfigMap').map((d) => d.name), ['higgs-g1-plan']);
  const s = statusOf(actions);
  assert.deepEqual([s.phase, s.planGeneration, s.output?.path], ['Planning', 2, '/ns1/higgs/g2-uid1/hzz_m4l.png']);
  assert.deepEqual(ofType(actions, 'event').map((e) => e.event.reason), ['Replanning']);
});

test('reconcile: a deleted analysis is left to the garbage collector', () => {
  assert.deepEqual(run(analysis({}, { deleting: true })).actions, []);
});
