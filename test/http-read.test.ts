import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { histogramsDocument } from '../core/outputs.js';
import { runLocal } from '../local/run-local.js';
import { serveFolder, type TestServer } from './support/http-server.js';
import { fullCatalogueDir, SHARED_DATA } from './support/paths.js';

/** Reading over HTTP with Range requests must give exactly what reading from disk gives. */
let shared: TestServer;
let full: TestServer;
before(async () => {
  shared = await serveFolder(SHARED_DATA);
  full = await serveFolder(fullCatalogueDir());
});
after(async () => {
  await shared.close();
  await full.close();
});

const numbers = (r: Awaited<ReturnType<typeof runLocal>>) => {
  const { categories, samples } = histogramsDocument(r.results);
  return { categories, samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { ...v }])) };
};

test('the shared files over HTTP give results identical to disk', async () => {
  const samples = ['data', 'Ztt'];
  const disk = await runLocal({ data: SHARED_DATA, samples, chunkSize: 300, parallel: 2 });
  const http = await runLocal({ data: shared.url, samples, chunkSize: 300, parallel: 2 });
  assert.deepEqual(http.failures, []);
  assert.deepEqual(numbers(http), numbers(disk));
  assert.ok(http.results.plan.samples.every((s) => s.url.startsWith(shared.url)), 'the plan points at the server');
  assert.ok(shared.requests.some((r) => r.range), 'the reader used Range requests');
  assert.ok(!shared.requests.some((r) => !r.range && r.path.endsWith('.root') && r.path), 'never a whole-file download');
});

test('files with on-disk baskets are read over HTTP with Range requests, identical to disk', async () => {
  const dir = fullCatalogueDir();
  const samples = ['llll', 'signal'];
  const disk = await runLocal({ data: dir, samples, chunkSize: 500, parallel: 2 });
  full.requests.length = 0;
  const http = await runLocal({ data: full.url, samples, chunkSize: 500, parallel: 2 });
  assert.deepEqual(http.failures, []);
  assert.deepEqual(numbers(http), numbers(disk));
  assert.ok(full.requests.filter((r) => r.range).length > 5, 'baskets fetched by range');
});
