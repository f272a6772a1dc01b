import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue, selectSamples } from '../core/catalogue.js';
import { planAnalysis } from '../core/chunk-plan.js';
import { emptyHistogram, mergeInto } from '../core/histogram.js';
import { decompressBlocks } from '../core/root/decompress.js';
import { inflateInto, nodeZlib, zlibByCopy } from '../core/root/inflate-into.js';
import { RootTree } from '../core/root/tree.js';
import { chunkTask, DEFINITION } from './support/analysis-fixture.js';
import { bothEngines } from './support/inflate-engines.js';
import { manyBasketsDir, SHARED_DATA } from './support/paths.js';
import { maxRelativeDifference } from './support/reference.js';

/**
 * The reader decodes basket after basket into memory it reuses (which keeps a worker's memory flat):
 * reuse must never let one basket's bytes show through another's.
 */
describe('baskets decoded into reused memory', () => {
  let file: string;
  before(() => { file = join(manyBasketsDir(), 'mc_363490.llll.4lep.root'); });

  test('two passes over one opened file at the same time each decode into memory of their own', async () => {
    const halves = [chunkTask(file, { entryStart: 0, entryStop: 20_000 }), chunkTask(file, { entryStart: 20_000, entryStop: 40_000 })];
    const alone = [await analyzeChunk(halves[0]!), await analyzeChunk(halves[1]!)];
    // Both go through the one cached tree, their basket reads interleaving.
    const together = await Promise.all(halves.map((t) => analyzeChunk(t)));
    assert.deepEqual(together, alone);
    assert.ok(alone[0]!.nSelected > 1000 && alone[1]!.nSelected > 1000, 'both halves select events');
  });

  test('chunks that start and end inside baskets add up to the whole file', async () => {
    const whole = await analyzeChunk(chunkTask(file, { entryStart: 0, entryStop: 40_000 }));
    const parts = [];
    for (let start = 0; start < 40_000; start += 2_345) parts.push(await analyzeChunk(chunkTask(file, { entryStart: start, entryStop: Math.min(40_000, start + 2_345) })));
    const sum = parts.reduce((acc, h) => mergeInto(acc, h), emptyHistogram({ lo: 80, hi: 250, width: 5 }, DEFINITION.cuts.length));
    assert.equal(sum.nRead, 40_000);
    assert.equal(sum.nSelected, whole.nSelected);
    assert.deepEqual(sum.entries, whole.entries);
    assert.ok(maxRelativeDifference(sum.sumw, whole.sumw) < 1e-12);
  });

  test('the plan finds the file\'s clusters and cuts its chunks on them', async () => {
    const catalogue = loadCatalogue();
    const plan = (data: string, samples: string[]) => planAnalysis({
      analysis: 't', catalogue, samples: selectSamples(catalogue, samples), source: data, lumi: 10, definition: DEFINITION, chunkSize: 2_345,
    });
    const many = await plan(manyBasketsDir(), ['llll']);
    assert.equal(many.plan.samples[0]!.clusterEntries, 1_000);
    assert.deepEqual(many.tasks.map((t) => t.chunk.entryStop - t.chunk.entryStart), Array(20).fill(2_000));
    // The 2020 files hold one basket per branch: nothing to align to.
    const shared = await plan(SHARED_DATA, ['data_D']);
    assert.equal(shared.plan.samples[0]!.clusterEntries, undefined);
    assert.deepEqual(shared.tasks.map((t) => t.chunk.entryStop - t.chunk.entryStart), [shared.plan.samples[0]!.entries]);
  });

  test('every basket inflated through zlib\'s native handle into reused memory equals what inflateSync gives', async () => {
    const bytes = readFileSync(file);
    const tree = await RootTree.open(file, 'mini');
    const room = new Uint8Array(1 << 20);
    let baskets = 0;
    for (const name of ['lep_pt', 'lep_type', 'mcWeight']) {
      for (const b of tree.branch(name).baskets) {
        const raw = bytes.subarray(b.seek!, b.seek! + b.bytes!);
        const size = raw.readInt32BE(6);
        const stream = raw.subarray(raw.readInt16BE(14) + 9);
        assert.deepEqual(inflateInto(stream, room, size, name, nodeZlib), inflateInto(stream, new Uint8Array(size + 1), size, name, zlibByCopy));
        baskets++;
      }
    }
    assert.equal(baskets, 120);
  });
});

describe('inflating ROOT blocks', () => {
  const payload = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251);
  const block = (part: Uint8Array): Buffer => {
    const z = deflateSync(part);
    const header = Buffer.from([0x5a, 0x4c, 8, 0, 0, 0, 0, 0, 0]);
    header.writeUIntLE(z.length, 3, 3);
    header.writeUIntLE(part.length, 6, 3);
    return Buffer.concat([header, z]);
  };

  for (const engine of bothEngines()) {
    test(`a basket of several blocks inflates into one buffer, in order (${engine.name})`, async () => {
      const src = Buffer.concat([block(payload.subarray(0, 20_000)), block(payload.subarray(20_000))]);
      assert.deepEqual(await decompressBlocks(src, new Uint8Array(60_000), payload.length, 'two blocks', engine), payload);
    });

    test(`a stream cut short, damaged, too short, too long or followed by more bytes is named, and the next stream inflates (${engine.name})`, async () => {
      const whole = block(payload);
      const out = new Uint8Array(payload.length + 11);
      await assert.rejects(decompressBlocks(whole.subarray(0, whole.length - 3), out, payload.length, 'cut short', engine), /cut short: .*(corrupt|inflated)/);
      const damaged = Buffer.from(whole);
      damaged.fill(0xff, 30, 60);
      await assert.rejects(decompressBlocks(damaged, out, payload.length, 'damaged', engine), /damaged \(block at byte 0\): corrupt zlib data/);
      await assert.rejects(decompressBlocks(whole, out, payload.length + 10, 'too long', engine), /too long: compressed data ends after 50000 of 50010 bytes/);
      // The block headers agree with the sizes asked for; the streams inside them do not.
      const z = deflateSync(payload);
      assert.throws(() => inflateInto(z, out, payload.length + 10, 'says more', engine), /says more: inflated 50000 bytes, expected 50010/);
      assert.throws(() => inflateInto(z, out, payload.length - 10, 'says less', engine), /says less: inflated (more than 49990|49991) bytes/);
      assert.throws(() => inflateInto(Buffer.concat([z, Buffer.from([1, 2, 3])]), out, payload.length, 'trailing', engine), /trailing: .*compressed bytes left/);
      assert.deepEqual(await decompressBlocks(whole, out, payload.length, 'sound', engine), payload);
    });
  }

  test('the output needs a byte of room past the size, to see the stream end', () => {
    assert.throws(() => inflateInto(deflateSync(payload), new Uint8Array(payload.length), payload.length, 'no room'), /no room: output room 50000 must exceed 50000 bytes/);
  });
});
