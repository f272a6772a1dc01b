import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadCatalogue, selectSamples } from '../core/catalogue.js';
import { planAnalysis, splitIntoChunks } from '../core/chunk-plan.js';
import { DEFINITION } from './support/analysis-fixture.js';
import { SHARED_DATA } from './support/paths.js';

const files = [
  { sample: 'a', category: 'data', url: 'A', entries: 10 },
  { sample: 'b', category: 'data', url: 'B', entries: 0 },
  { sample: 'c', category: 'mc', url: 'C', entries: 3 },
];

test('files are cut into consecutive ranges covering every entry once, indexed in order', () => {
  const chunks = splitIntoChunks(files, 4);
  assert.deepEqual(chunks.map((c) => [c.index, c.sample, c.entryStart, c.entryStop]), [
    [0, 'a', 0, 4], [1, 'a', 4, 8], [2, 'a', 8, 10], [3, 'c', 0, 3],
  ]);
  for (const size of [1, 2, 3, 7, 1000]) {
    const cs = splitIntoChunks(files, size);
    assert.equal(cs.reduce((n, c) => n + c.entryStop - c.entryStart, 0), 13);
    assert.ok(cs.every((c) => c.entryStop - c.entryStart <= size && c.entryStop > c.entryStart));
  }
});

test('in a file of even clusters, chunks are whole clusters: at most the chunk size, at least one cluster', () => {
  const clustered = [{ sample: 'a', category: 'mc', url: 'A', entries: 10, clusterEntries: 3 }];
  const ranges = (size: number) => splitIntoChunks(clustered, size).map((c) => [c.entryStart, c.entryStop]);
  assert.deepEqual(ranges(7), [[0, 6], [6, 10]]);
  assert.deepEqual(ranges(2), [[0, 3], [3, 6], [6, 9], [9, 10]]);
  assert.deepEqual(ranges(100), [[0, 10]]);
});

test('a chunk size must be a positive whole number', () => {
  assert.throws(() => splitIntoChunks(files, 0), /positive whole number/);
  assert.throws(() => splitIntoChunks(files, -5), /positive whole number/);
  assert.throws(() => splitIntoChunks(files, 2.5), /positive whole number/);
});

// The operator plans in one process, and rebuilds the tasks in another after a restart; the
// plotter compares plans byte for byte. A plan must depend on its inputs only: not on the process,
// the clock, or the order in which the files' headers were read or the samples named.
const REQUEST = { analysis: 'default/higgs/g1-0123abcd', source: SHARED_DATA, lumi: 10, definition: DEFINITION, chunkSize: 300 };

test('the plan is the same in another process, whatever order the samples are named in', async () => {
  const cat = loadCatalogue();
  const request = (names: string[]) => ({ ...REQUEST, catalogue: cat, samples: selectSamples(cat, names) });
  const here = await planAnalysis(request(['data', 'Ztt']));
  assert.ok(here.plan.chunks > 10 && here.failures.length === 0);
  const reordered = await planAnalysis(request(['Ztt', 'data_D', 'data']));
  assert.deepEqual(reordered.plan, here.plan);
  assert.deepEqual(reordered.tasks, here.tasks);

  const script = `
    const { loadCatalogue, selectSamples } = await import(${JSON.stringify(new URL('../core/catalogue.js', import.meta.url).href)});
    const { planAnalysis } = await import(${JSON.stringify(new URL('../core/chunk-plan.js', import.meta.url).href)});
    const cat = loadCatalogue();
    const { plan, tasks } = await planAnalysis({ ...${JSON.stringify(REQUEST)}, catalogue: cat, samples: selectSamples(cat, ['Zmumu', 'data_B', 'ttbar_lep', 'Zee', 'data']) });
    process.stdout.write(JSON.stringify({ plan, tasks }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(stdout, JSON.stringify({ plan: here.plan, tasks: here.tasks }), 'byte for byte');
});
