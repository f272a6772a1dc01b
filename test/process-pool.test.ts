import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue } from '../core/catalogue.js';
import type { Task } from '../core/contracts/messages.js';
import { ProcessPool } from '../local/process-pool.js';
import { DEFINITION } from './support/analysis-fixture.js';
import { SHARED_DATA } from './support/paths.js';

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
