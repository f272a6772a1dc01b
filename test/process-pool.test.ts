import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue } from '../core/catalogue.js';
import type { Task } from '../core/contracts/messages.js';
import { histogramsDocument } from '../core/outputs.js';
import { ProcessPool } from '../local/process-pool.js';
import { runLocal } from '../local/run-local.js';
import { DEFINITION } from './support/analysis-fixture.js';
import { manyBasketsDir, SHARED_DATA } from './support/paths.js';

const cat = loadCatalogue();
const task = (index: number): Task => ({
  schema: 'hzz.task/v2', analysis: 'pool', tree: cat.tree, energyUnit: cat.energyUnit, definition: DEFINITION, lumi: 10,
  chunk: { index, sample: 'data_D', category: 'data', url: join(SHARED_DATA, 'data_D.4lep.root'), entryStart: index * 100, entryStop: index * 100 + 100 },
});
const children = (): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

test('the pool returns what analyzeChunk returns, and replaces a process that dies', async () => {
  const pool = new ProcessPool(2);
  try {
    const expected = await Promise.all([0, 1, 2, 3].map((i) => analyzeChunk(task(i))));
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => pool.run(task(i)))), expected);
    const before = children();
    assert.equal(before.length, 2, 'two analysis processes');
    process.kill(before[0]!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => pool.run(task(i)))), expected, 'still works after a process was killed');
    assert.equal(children().length, 2, 'the dead process was replaced');
    await assert.rejects(pool.run({ ...task(0), chunk: { ...task(0).chunk, url: join(SHARED_DATA, 'absent.root') } }), /absent\.root: cannot open file/);
  } finally {
    await pool.close();
  }
  assert.equal(children().length, 0, 'close() ends every process');
});

test('hzz run: a chunk process killed with SIGKILL while it analyses is retried, reported, and the numbers are those of a clean run', async () => {
  const opts = { data: manyBasketsDir(), samples: ['llll'], chunkSize: 1000, parallel: 2 };
  const clean = await runLocal(opts);
  let killed: number | undefined;
  const r = await runLocal({
    ...opts,
    // After the third chunk each process holds one or two chunks (the pool hands a process its next
    // chunk while it analyses one), which the kill takes with it.
    onChunk: (done) => {
      if (done !== 3) return;
      killed = children().find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chunk-process'));
      process.kill(killed!, 'SIGKILL');
    },
  });
  assert.ok(killed, 'a chunk process was found and killed');
  assert.deepEqual(r.failures, []);
  assert.ok(r.retried.length >= 1 && r.retried.length <= 2, JSON.stringify(r.retried));
  for (const retried of r.retried) {
    assert.equal(retried.kind, 'crash');
    assert.match(retried.message, /analysis process exited \(SIGKILL\)/);
    assert.match(retried.what, /^chunk \d+ \(llll entries \d+-\d+\)$/);
  }
  assert.deepEqual(histogramsDocument(r.results).samples, histogramsDocument(clean.results).samples);
});
