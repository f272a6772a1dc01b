import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue, selectSamples } from '../core/catalogue.js';
import { planAnalysis } from '../core/chunk-plan.js';
import { emptyHistogram, mergeInto } from '../core/histogram.js';
import { BasketMemory } from '../core/root/basket-memory.js';
import { decodeBasket, type BasketPayload } from '../core/root/columns.js';
import { decompressBlocks } from '../core/root/decompress.js';
import { inflateInto, inflatePrefix, nodeZlib, zlibByCopy } from '../core/root/inflate-into.js';
import { RootTree } from '../core/root/tree.js';
import { chunkTask, DEFINITION } from './support/analysis-fixture.js';
import { bothEngines } from './support/inflate-engines.js';
import { manyBasketsDir, PYTHON, SHARED_DATA } from './support/paths.js';
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

describe('a counted branch read through its counter', () => {
  // Entries of 2, 1, 0 and 3 values, 250 times over; written without compression, so that the test can change bytes in place.
  const counts = [2, 1, 0, 3];
  const values = (e: number): number[] => Array.from({ length: counts[e % 4]! }, (_, k) => e + k / 4);
  let dir: string;
  let bytes: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hzz-counted-'));
    execFileSync(PYTHON, ['-c', `import sys, uproot, awkward as ak
with uproot.recreate(sys.argv[1], compression=None) as f:
    f.mktree('t', {'x': 'var * float32'}, counter_name=lambda counted: 'n')
    f['t'].extend({'x': ak.Array([[e + k / 4 for k in range(${JSON.stringify(counts)}[e % 4])] for e in range(1000)])})`, join(dir, 'counted.root')]);
    bytes = readFileSync(join(dir, 'counted.root'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The file with `change` made to the bytes of branch `name`'s basket (its key first), read whole. */
  async function readChanged(name: string, change: (basket: Buffer, keylen: number, last: number) => void): Promise<number[][]> {
    const file = join(dir, `${name}-changed.root`);
    const tree = await RootTree.open(join(dir, 'counted.root'), 't');
    const { seek, bytes: n } = tree.branch(name).baskets[0]!;
    tree.close();
    const changed = Buffer.from(bytes);
    const basket = changed.subarray(seek!, seek! + n!);
    const keylen = basket.readInt16BE(14);
    change(basket, keylen, basket.readInt32BE(keylen - 5));
    writeFileSync(file, changed);
    const read: number[][] = [];
    const reading = await RootTree.open(file, 't');
    try {
      for await (const w of reading.windows(['x'], 0, 1000)) {
        const { values: v, offsets: o, entryStart } = w.columns.get('x')!;
        for (let e = w.entryStart; e < w.entryStop; e++) read.push([...v.subarray(o![e - entryStart]!, o![e - entryStart + 1]!)]);
      }
    } finally {
      reading.close();
    }
    return read;
  }

  test('takes its entries\' lengths from the counter, not from the basket\'s offset table', async () => {
    const tree = await RootTree.open(join(dir, 'counted.root'), 't');
    assert.equal(tree.branch('x').counter, 'n');
    tree.close();
    // An offset table of -1s would put every entry outside the basket.
    const read = await readChanged('x', (basket, _keylen, last) => basket.fill(0xff, last + 4));
    assert.deepEqual(read, Array.from({ length: 1000 }, (_, e) => values(e)));
  });

  test('a counter that disagrees with the basket it counts is named', async () => {
    // Entry 3 counts 4 values instead of 3, entry 7 -1.
    await assert.rejects(readChanged('n', (basket, keylen) => basket.writeInt32BE(4, keylen + 4 * 3)), /n-changed\.root: branch 'x' basket at entry 0: its counter counts 1501 values in its entries, the basket holds 1500$/);
    await assert.rejects(readChanged('n', (basket, keylen) => basket.writeInt32BE(-1, keylen + 4 * 7)), /branch 'x' basket at entry 0: its counter counts -1 values for entry 7$/);
  });
});

describe('a std::vector basket read without its offset table', () => {
  /** Entries as ROOT writes a vector<float> branch's: byte count, version, length, big-endian values. */
  const vectors = (entries: number[][], extra = 0): BasketPayload => {
    const parts = entries.map((v) => {
      const b = Buffer.alloc(10 + 4 * v.length);
      b.writeUInt32BE((0x40000000 | (6 + 4 * v.length)) >>> 0, 0);
      b.writeUInt16BE(9, 4);
      b.writeInt32BE(v.length, 6);
      v.forEach((x, k) => b.writeFloatBE(x, 10 + 4 * k));
      return b;
    });
    const data = Buffer.concat([...parts, Buffer.alloc(extra, 0xee)]);
    // An offset table of -1s after the data: it must not be what places the entries.
    const room = new Uint8Array(data.length + 64).fill(0xff);
    room.set(data);
    return { data: room, keylen: 70, last: 70 + data.length, entries: entries.length };
  };

  test('finds each entry from the headers before it', () => {
    const col = decodeBasket('stl-vector', 'f4', vectors([[1.5, 2.5], [], [3.5], [4.5, 5.5, 6.5]]), 10, 'v', new BasketMemory());
    assert.deepEqual([...col.values], [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
    assert.deepEqual([...col.offsets!], [0, 2, 2, 3, 6]);
    assert.deepEqual([col.entryStart, col.entryStop], [10, 14]);
  });

  test('a header that claims more than the data holds, or data past the last entry, is named', () => {
    const long = vectors([[1.5], [2.5]]);
    new DataView(long.data.buffer).setInt32(14 + 6, 1_000);
    assert.throws(() => decodeBasket('stl-vector', 'f4', long, 0, 'v', new BasketMemory()), /^Error: v: corrupt entry 1 at byte 14$/);
    assert.throws(() => decodeBasket('stl-vector', 'f4', vectors([[1.5], [2.5]], 4), 0, 'v', new BasketMemory()), /^Error: v: its entries end at byte 28 of its 32 bytes of data$/);
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

  test('a stream\'s first bytes alone are its first bytes; one that ends before them, or is damaged, is named, and the next inflates', async () => {
    const whole = block(payload);
    const out = new Uint8Array(payload.length + 1);
    assert.deepEqual(await decompressBlocks(whole, out, payload.length, 'half', nodeZlib, 25_000), payload.subarray(0, 25_000));
    // Of two blocks, the first inflates whole and the second as far as needed.
    const two = Buffer.concat([block(payload.subarray(0, 20_000)), block(payload.subarray(20_000))]);
    assert.deepEqual(await decompressBlocks(two, out.fill(0), payload.length, 'two', nodeZlib, 30_000), payload.subarray(0, 30_000));
    const z = deflateSync(payload.subarray(0, 1_000));
    assert.throws(() => inflatePrefix(z, out, 1_001, 'short'), /^Error: short: the stream ends after 1000 of the 1001 bytes of data its basket says it holds$/);
    const damaged = Buffer.from(deflateSync(payload));
    damaged.fill(0xff, 20, 40);
    assert.throws(() => inflatePrefix(damaged, out, 40_000, 'damaged'), /^Error: damaged: corrupt zlib data$/);
    assert.deepEqual(inflatePrefix(z, out, 999, 'after'), payload.subarray(0, 999));
  });

  test('the output needs a byte of room past the size, to see the stream end', () => {
    assert.throws(() => inflateInto(deflateSync(payload), new Uint8Array(payload.length), payload.length, 'no room'), /no room: output room 50000 must exceed 50000 bytes/);
  });
});
