// The HZZAnalysis CRD: generated from the TypeBox schema (the committed file must be current), and
// what the real API server does with it: defaults, validation messages, printer columns, and the
// status and scale subresources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnalysisDefinition } from '../core/contracts/analysis-definition.js';
import { CRD_FILE, crdYaml, customResourceDefinition } from '../operator/api/crd.js';
import { startControlPlane } from './harness/control-plane.js';
import { waitUntil } from './support/broker.js';

const DEFINITION_2020 = JSON.parse(readFileSync(fileURLToPath(new URL('../../definitions/atlas-2020-4lep.json', import.meta.url)), 'utf8')) as AnalysisDefinition;
/** The 2020 definition inline, changed by `change`. */
const inline = (change: (d: AnalysisDefinition) => void = () => {}) => {
  const d = structuredClone(DEFINITION_2020);
  change(d);
  return { analysisDefinition: d };
};
const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

test('crd: the committed CRD is what operator/api/v1alpha1.ts generates', () => {
  assert.equal(readFileSync(CRD_FILE, 'utf8'), crdYaml(), `${CRD_FILE} is stale: run \`npm run gen:crd\` and commit the result`);
});

test('crd: the schema is structural (no additionalProperties: false, anyOf or const)', () => {
  const offending: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.additionalProperties === false) offending.push(`${at}: additionalProperties: false`);
    if ('anyOf' in o || 'const' in o) offending.push(`${at}: anyOf/const`);
    for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
  };
  walk(customResourceDefinition(), '');
  assert.deepEqual(offending, []);
});

test('crd: the API server defaults, validates and serves HZZAnalysis', async (t) => {
  const cp = await startControlPlane({ name: 'crd' });
  t.after(() => cp.stop());
  const ok = async (args: string[], input?: string): Promise<string> => {
    const res = await cp.kubectl(args, input === undefined ? {} : { input });
    assert.equal(res.code, 0, `kubectl ${args.join(' ')}:\n${res.stderr}`);
    return res.stdout;
  };
  await ok(['apply', '-f', CRD_FILE]);
  await ok(['wait', '--for=condition=Established', '--timeout=30s', '-f', CRD_FILE]);
  const manifest = (name: string, spec: unknown) => JSON.stringify({ apiVersion: 'hzz.opendata.dev/v1alpha1', kind: 'HZZAnalysis', metadata: { name }, spec });

  await t.test('an empty spec gets every default', async () => {
    // No lumi among them: absent, the plan takes the data's (core/catalogue.ts runLumi).
    await ok(['create', '-f', '-'], manifest('defaults', {}));
    const got = JSON.parse(await ok(['get', 'hzz', 'defaults', '-o', 'json'])) as { spec: unknown };
    // No binning either: absent, the definition's own holds.
    assert.deepEqual(got.spec, {
      release: 'atlas-2020-4lep', chunkSize: 50000, parallelism: 4, retriesPerChunk: 3, chunkTimeoutSeconds: 3600, maxFailedChunks: 0,
    });
    const partial = JSON.parse(await ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], manifest('partial', { binning: { lo: 100 } }))) as { spec: { binning: unknown } };
    assert.deepEqual(partial.spec.binning, { lo: 100, hi: 250, width: 5 });
  });

  await t.test('an inline definition is accepted and stored as written', async () => {
    const created = JSON.parse(await ok(['create', '-o', 'json', '-f', '-'], manifest('inline', inline()))) as { spec: { analysisDefinition: unknown } };
    assert.deepEqual(created.spec.analysisDefinition, DEFINITION_2020);
  });

  await t.test('kubectl explain describes spec.analysis and the inline definition down to its fields', async () => {
    // The API server publishes a new CRD's OpenAPI a few seconds after it is Established; kubectl
    // wraps descriptions at 80 columns.
    await waitUntil('the CRD in the OpenAPI document', async () => (await cp.kubectl(['explain', 'hzzanalysis'])).code === 0, 30_000, 500);
    const explain = async (field: string) => (await ok(['explain', `hzzanalysis.${field}`])).replace(/\s+/g, ' ');
    assert.match(await explain('spec.analysis'), /A shipped analysis definition by name .* or give one inline as spec\.analysisDefinition \(not both\)/);
    const inlineDoc = await explain('spec.analysisDefinition');
    assert.match(inlineDoc, /An analysis definition inline \(hzz\.analysis\/v1/);
    for (const field of ['branches', 'cuts', 'histograms', 'variables', 'weight', 'schema']) assert.match(inlineDoc, new RegExp(` ${field} <[^>]+>`), field);
    assert.match(await explain('spec.analysisDefinition.cuts.formula'), /A boolean expression, e\.g\. sum\(lep_charge\[0:4\]\) == 0/);
  });

  await t.test('the examples are valid', async () => {
    for (const file of ['hzzanalysis.yaml', 'hzzanalysis-shared-data.yaml', 'hzzanalysis-inline.yaml']) await ok(['apply', '--dry-run=server', '-f', example(file)]);
  });

  await t.test('invalid manifests are refused with a message naming the problem', async () => {
    const cases: { name: string; spec?: unknown; raw?: unknown; error: RegExp }[] = [
      { name: 'bad-range', spec: { binning: { lo: 100, hi: 90 } }, error: /spec\.binning\.hi: Invalid value: binning: hi must be above lo/ },
      { name: 'partial-bins', spec: { binning: { lo: 80, hi: 250, width: 7 } }, error: /spec\.binning\.width: .*whole number of bins/ },
      { name: 'zero-width', spec: { binning: { width: 0 } }, error: /spec\.binning\.width: Invalid value: 0: .*greater than 0/ },
      { name: 'negative-chunks', spec: { chunkSize: -5 }, error: /spec\.chunkSize: Invalid value: -5: .*greater than or equal to 1/ },
      { name: 'negative-parallelism', spec: { parallelism: -1 }, error: /spec\.parallelism: Invalid value: -1/ },
      { name: 'unknown-category', spec: { catalogue: { samples: [{ name: 'mine', category: 'Higgs', path: 'x.root' }] } }, error: /spec\.catalogue\.samples\[0\]\.category: Unsupported value: "Higgs": supported values: "data", "Ztt", "ZZ", "signal"/ },
      { name: 'mc-without-xsec', spec: { catalogue: { samples: [{ name: 'mine', category: 'signal', path: 'x.root' }] } }, error: /sample mine: an MC sample \(category signal\) needs xsec, sumw and efficiency/ },
      { name: 'unknown-sample', spec: { samples: ['data', 'Zprime'] }, error: /samples: Zprime is neither a category nor a sample of atlas-2020-4lep/ },
      { name: 'unknown-release', spec: { release: 'atlas-1999' }, error: /spec\.release: Unsupported value: "atlas-1999"/ },
      { name: 'missing-path', spec: { catalogue: { samples: [{ name: 'mine', category: 'data' }] } }, error: /spec\.catalogue\.samples\[0\]\.path: Required value/ },
      { name: 'no-spec', raw: {}, error: /spec: Required value/ },
      { name: 'two-sources', spec: { source: { pvc: 'data', urlPrefix: 'https://example.org/' } }, error: /source needs exactly one of urlPrefix or pvc/ },
      { name: 'path-without-pvc', spec: { source: { path: 'atlas' } }, error: /source\.path is a folder inside source\.pvc/ },
      { name: 'path-escapes', spec: { source: { pvc: 'data', path: 'a/../../etc' } }, error: /source\.path must not contain '\.\.'/ },
      { name: 'reserved-output', spec: { output: 'mine/partials' }, error: /'partials' is reserved/ },
      { name: 'x'.repeat(64), spec: {}, error: /at most 63 characters/ },
      { name: 'two-definitions', spec: { analysis: 'atlas-2020-4lep', ...inline() }, error: /spec\.analysisDefinition: Invalid value: .*give spec\.analysis \(a shipped definition by name\) or spec\.analysisDefinition \(one inline\), not both/ },
      { name: 'inline-no-bins', spec: inline((d) => { d.histograms[0]!.binning = { lo: 80, hi: 80, width: 5 }; }), error: /spec\.analysisDefinition\.histograms\[0\]\.binning\.hi: Invalid value: .*binning: hi must be above lo/ },
      { name: 'inline-partial-bins', spec: inline((d) => { d.histograms[0]!.binning = { lo: 80, hi: 250, width: 7 }; }), error: /spec\.analysisDefinition\.histograms\[0\]\.binning\.width: .*whole number of bins/ },
      { name: 'inline-zero-width', spec: inline((d) => { d.histograms[0]!.binning.width = 0; }), error: /spec\.analysisDefinition\.histograms\[0\]\.binning\.width: Invalid value: 0: .*greater than 0/ },
      { name: 'inline-twice-a-cut', spec: inline((d) => { d.cuts[1]!.name = d.cuts[0]!.name; }), error: /spec\.analysisDefinition\.cuts: Invalid value: .*cuts: each name may be used once/ },
      { name: 'inline-twice-a-histogram', spec: inline((d) => { d.histograms.push({ ...d.histograms[0]! }); }), error: /histograms: each name may be used once/ },
      { name: 'inline-twice-a-variable', spec: inline((d) => { d.variables!.push({ name: 'm4l', formula: '1' }); }), error: /variables: each name may be used once/ },
      { name: 'inline-bad-branch-name', spec: inline((d) => { d.branches['lep-pt'] = 'float32[]'; }), error: /spec\.analysisDefinition\.branches: Invalid value: .*every key must match/ },
      { name: 'inline-bad-branch-type', spec: inline((d) => { d.branches.lep_pt = 'double[]' as 'float64[]'; }), error: /spec\.analysisDefinition\.branches\.lep_pt: Unsupported value: "double\[\]"/ },
      { name: 'inline-no-histogram', spec: inline((d) => { d.histograms = []; }), error: /spec\.analysisDefinition\.histograms: Invalid value: 0: .*at least 1 items/ },
      { name: 'inline-wrong-schema', spec: inline((d) => { (d as { schema: string }).schema = 'hzz.analysis/v2'; }), error: /spec\.analysisDefinition\.schema: Unsupported value: "hzz\.analysis\/v2"/ },
      { name: 'inline-no-weight', spec: inline((d) => { delete (d as Partial<AnalysisDefinition>).weight; }), error: /spec\.analysisDefinition\.weight: Required value/ },
    ];
    for (const c of cases) {
      const body = c.raw ?? { spec: c.spec };
      const res = await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'hzz.opendata.dev/v1alpha1', kind: 'HZZAnalysis', metadata: { name: c.name }, ...body }) });
      assert.notEqual(res.code, 0, `${c.name} was accepted`);
      assert.match(res.stderr, c.error, `${c.name}`);
    }
  });

  await t.test('printer columns show phase, chunks, running and age; -o wide the plot path', async () => {
    await ok(['patch', 'hzz', 'defaults', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { phase: 'Running', progress: '57/120', running: 4, selector: 'hzz.opendata.dev/analysis=defaults', output: { path: '/default/defaults/g1/hzz_m4l.png' } },
    })]);
    const table = await ok(['get', 'hzz', 'defaults']);
    const [header, row] = table.trim().split('\n');
    assert.deepEqual(header!.split(/\s+/), ['NAME', 'PHASE', 'CHUNKS', 'RUNNING', 'AGE']);
    assert.match(row!, /^defaults\s+Running\s+57\/120\s+4\s+\d+s$/);
    assert.match(await ok(['get', 'hzzanalyses', '-o', 'wide']), /\/default\/defaults\/g1\/hzz_m4l\.png/);
  });

  await t.test('the scale subresource reads and writes spec.parallelism', async () => {
    await ok(['scale', 'hzz/defaults', '--replicas=7']);
    const scale = JSON.parse(await ok(['get', 'hzz', 'defaults', '--subresource=scale', '-o', 'json'])) as { spec: { replicas: number }; status: { replicas: number; selector: string } };
    assert.deepEqual([scale.spec.replicas, scale.status.replicas, scale.status.selector], [7, 4, 'hzz.opendata.dev/analysis=defaults']);
    const res = await cp.kubectl(['scale', 'hzz/defaults', '--replicas=-1']);
    assert.notEqual(res.code, 0);
  });
});
