import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RootTree } from '../core/root/tree.js';
import { serveFolder, type TestServer } from './support/http-server.js';
import { manyBasketsDir } from './support/paths.js';

/**
 * A pass over a tree asks for the next window's compressed baskets as soon as the current window's
 * have arrived, so that reading overlaps inflating and analysing (core/root/tree.ts). Watched over
 * HTTP, where every read is a request the server sees; the test file's baskets hold 1,000 entries,
 * so every window of a pass reads once.
 */
process.env.HZZ_READ_TIMEOUT_SECONDS = '1';
const FILE = 'mc_363490.llll.4lep.root';
const BRANCHES = ['lep_pt', 'lep_eta', 'lep_charge', 'mcWeight'];

let server: TestServer;
/** The request (its index in server.requests) the server leaves unanswered. */
let stalled = -1;
before(async () => {
  server = await serveFolder(manyBasketsDir(), { layout: 'as-is', stall: () => server.requests.length - 1 === stalled });
});
after(() => server.close());

/** Per window: its entries and the sum of every requested branch's values (a fingerprint of the bytes decoded). */
async function fingerprints(tree: RootTree, start: number, stop: number): Promise<number[][]> {
  const out: number[][] = [];
  for await (const w of tree.windows(BRANCHES, start, stop)) {
    out.push([w.entryStart, w.entryStop, ...BRANCHES.map((b) => sum(w.columns.get(b)!.values))]);
  }
  return out;
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let waited = 0; !ok(); waited += 10) {
    if (waited > 5000) assert.fail(`${what}: not within 5 s`);
    await sleep(10);
  }
}

test('the next window\'s baskets are requested while the current window is in the consumer\'s hands, and nothing past the range', async () => {
  const tree = await RootTree.open(`${server.url}${FILE}`, 'mini');
  const opened = server.requests.length;
  const windows = tree.windows(BRANCHES, 0, 5000);
  const first = await windows.next();
  assert.equal(first.done, false);
  assert.deepEqual([first.value!.entryStart, first.value!.entryStop], [0, 1000]);
  // The consumer has not asked for the second window yet: its read is under way all the same.
  await until('the second window\'s read', () => server.requests.length === opened + 2);
  let n = 1;
  for (let w = await windows.next(); !w.done; w = await windows.next()) n++;
  assert.equal(n, 5);
  assert.equal(server.requests.length - opened, 5, 'one read a window, none beyond entry 5,000');
  tree.close();
});

test('a consumer that leaves while a read is under way gets back once that read is over, and the next pass reads the right bytes', async () => {
  const disk = await RootTree.open(join(manyBasketsDir(), FILE), 'mini');
  const expected = await fingerprints(disk, 0, 3000);
  disk.close();
  const tree = await RootTree.open(`${server.url}${FILE}`, 'mini');
  // The second window's read goes unanswered until its 1 s deadline.
  stalled = server.requests.length + 1;
  const windows = tree.windows(BRANCHES, 0, 3000);
  const first = await windows.next();
  assert.equal(first.done, false);
  await until('the second window\'s read', () => server.requests.length > stalled);
  const left = performance.now();
  await windows.return(undefined);
  const waited = performance.now() - left;
  assert.ok(waited > 500, `leaving waited for the stalled read to end (${waited.toFixed(0)} ms)`);
  // The same tree's next pass takes the arena back, both compressed buffers in it.
  assert.deepEqual(await fingerprints(tree, 0, 3000), expected);
  tree.close();
});
