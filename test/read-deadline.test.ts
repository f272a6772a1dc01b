import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramsDocument } from '../core/outputs.js';
import { runLocal } from '../local/run-local.js';
import { serveFolder } from './support/http-server.js';
import { fullCatalogueDir, SHARED_DATA } from './support/paths.js';

/**
 * A server that stops answering must not hang a run: every read has a deadline (here 1 s, from
 * HZZ_READ_TIMEOUT_SECONDS, which the chunk processes inherit), past which the read fails as
 * transient, naming the file, the stage and the address, and is retried.
 */
process.env.HZZ_READ_TIMEOUT_SECONDS = '1';

test('a server that answers the 64-byte header and then stalls: planning retries, then reports the sample, and the run ends', async () => {
  const server = await serveFolder(SHARED_DATA, { stall: (path, range) => path.includes('Zee') && range !== 'bytes=0-63' });
  try {
    const started = performance.now();
    const r = await runLocal({ data: server.url, samples: ['Zee', 'data_A'], chunkSize: 1000, parallel: 1 });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.failures.length, 1, JSON.stringify(r.failures));
    const [f] = r.failures;
    assert.equal(f!.what, 'sample Zee');
    assert.equal(f!.kind, 'transient');
    assert.match(f!.message, /^opening of mc_361106\.Zee\.4lep\.root: no answer from http:\/\/127\.0\.0\.1:\d+\/MC\/mc_361106\.Zee\.4lep\.root within 1 s$/);
    const headers = server.requests.filter((q) => q.path.includes('Zee') && q.range === 'bytes=0-63').length;
    assert.equal(headers, 3, 'opened three times: the first attempt and two retries');
    assert.ok(seconds < 15, `the run ended (${seconds.toFixed(1)} s)`);
    assert.equal(r.results.chunksDone, r.results.plan.chunks, 'the sample that answered ran');
  } finally {
    await server.close();
  }
});

test('a basket read that stalls is retried as transient and the run completes with the numbers read from disk', async () => {
  const dir = fullCatalogueDir();
  const samples = ['llll'];
  // The ranges planning asked for are the file's metadata; any other is a basket. The first basket request stalls.
  let planned = false;
  const metadata = new Set<string | undefined>();
  let stalled = 0;
  const server = await serveFolder(dir, {
    stall: (_, range) => {
      if (!planned) {
        metadata.add(range);
        return false;
      }
      if (metadata.has(range) || stalled > 0) return false;
      stalled++;
      return true;
    },
  });
  try {
    const disk = await runLocal({ data: dir, samples, chunkSize: 5000, parallel: 2 });
    const http = await runLocal({ data: server.url, samples, chunkSize: 5000, parallel: 2, onPlanned: () => { planned = true; } });
    assert.equal(stalled, 1, 'one basket request went unanswered');
    assert.deepEqual(http.failures, []);
    assert.equal(http.retried.length, 1, JSON.stringify(http.retried));
    assert.equal(http.retried[0]!.kind, 'transient');
    assert.match(http.retried[0]!.message, /^reading baskets of mc_363490\.llll\.4lep\.root: no answer from http:\/\/127\.0\.0\.1:\d+\/MC\/mc_363490\.llll\.4lep\.root within 1 s$/);
    const { categories, samples: perSample } = histogramsDocument(http.results);
    const d = histogramsDocument(disk.results);
    assert.deepEqual({ categories, perSample }, { categories: d.categories, perSample: d.samples });
  } finally {
    await server.close();
  }
});
