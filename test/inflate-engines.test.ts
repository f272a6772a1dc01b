import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { LARGE_FILE, largeInput } from '../bench/large-input.js';
import { decompressBlocks } from '../core/root/decompress.js';
import { chooseEngine, inflateEngine, nodeZlib, type InflateEngine } from '../core/root/inflate-into.js';
import { bufferSwap } from '../core/root/byte-swap.js';
import { ADDON_PATH, loadByteSwap, loadLibdeflate } from '../core/root/libdeflate-addon.js';
import { libdeflate } from './support/inflate-engines.js';
import { REPO, SHARED_DATA } from './support/paths.js';
import { compressedRecords } from './support/root-records.js';

/**
 * libdeflate (the native addon) and Node's zlib must be interchangeable: the same bytes from every
 * compressed record of the real files, the same errors for bad streams, and Node's zlib whenever
 * the addon is absent or broken. A record's first bytes inflated alone (inflatePrefix) must be the
 * whole record's.
 */
interface Compared { records: number; trees: number; baskets: number; bytes: number }

/** Inflates every compressed record of `file` with both engines and compares them byte for byte. */
async function compareEngines(file: string, engines: [InflateEngine, InflateEngine]): Promise<Compared> {
  const rooms = [new Uint8Array(0), new Uint8Array(0)];
  const seen: Compared = { records: 0, trees: 0, baskets: 0, bytes: 0 };
  for await (const { at, className, stored, objlen } of compressedRecords(file)) {
    const what = `${file}: ${className} at byte ${at}`;
    const [a, b] = await Promise.all(engines.map(async (engine, i) => {
      if (rooms[i]!.length <= objlen) rooms[i] = new Uint8Array(2 * objlen);
      return Buffer.from((await decompressBlocks(stored, rooms[i]!, objlen, what, engine)).buffer, 0, objlen);
    }));
    if (!a!.equals(b!)) assert.fail(`${what}: ${engines[0].name} and ${engines[1].name} differ`);
    // What a counted basket read without its offset table asks for: the record's first bytes alone.
    for (const need of [objlen >> 1, objlen - 1]) {
      // Into the second engine's room: `a` is a view of the first's.
      const head = await decompressBlocks(stored, rooms[1]!.fill(0), objlen, `${what}, first ${need} bytes`, engines[0], need);
      if (head.length < need || !Buffer.from(head.buffer, head.byteOffset, need).equals(a!.subarray(0, need))) assert.fail(`${what}: its first ${need} bytes alone differ`);
    }
    seen.records++;
    seen.bytes += objlen;
    if (className === 'TBasket') seen.baskets++;
    if (className === 'TTree') seen.trees++;
  }
  return seen;
}

describe('libdeflate and Node\'s zlib', () => {
  test('every compressed record of every shared ROOT file inflates to the same bytes with both', async () => {
    const files = readdirSync(SHARED_DATA).filter((f) => f.endsWith('.root'));
    assert.ok(files.length >= 10, `the shared files: ${files.join(', ')}`);
    let baskets = 0;
    for (const f of files) {
      const seen = await compareEngines(join(SHARED_DATA, f), [libdeflate(), nodeZlib]);
      // The 2020 files keep their one basket per branch inside the compressed TTree record.
      assert.ok(seen.trees >= 1 && seen.records >= 2, `${f}: ${JSON.stringify(seen)}`);
      baskets += seen.baskets;
    }
    // The 2025 file's baskets are on disk.
    assert.ok(baskets >= 100, `${baskets} baskets on disk`);
  });

  test('so does every compressed record of the benchmark\'s large input', async () => {
    const seen = await compareEngines(join(largeInput(), LARGE_FILE), [libdeflate(), nodeZlib]);
    // 20,000-entry baskets: 500 per branch for each of the analysis's 11 branches, at least.
    assert.ok(seen.baskets >= 5_500, `${seen.baskets} compressed baskets`);
    assert.ok(seen.bytes > 1e9, `${seen.bytes} bytes inflated`);
  });

  test('a process inflates with the addon when it is built, and with Node\'s zlib when asked or when the addon cannot be had', () => {
    assert.match(inflateEngine().name, /^libdeflate 1\.\d+ \(native addon\)$/);
    assert.equal(chooseEngine('zlib', () => assert.fail('the addon is not even loaded')), nodeZlib);
    assert.equal(chooseEngine(undefined, () => 'not built'), nodeZlib);
    assert.throws(() => chooseEngine('libdeflate', () => 'not built'), /^BadInputError: HZZ_INFLATE: is 'libdeflate', but the addon cannot be loaded: not built$/);
    assert.throws(() => chooseEngine('isal', () => 'unused'), /^BadInputError: HZZ_INFLATE: is 'isal': it takes 'libdeflate' or 'zlib'$/);
  });

  test('an addon that is absent, not a shared library, or not ours is named with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hzz-addon-'));
    try {
      assert.match(loadLibdeflate(join(dir, 'absent.node')) as string, /absent\.node not built \(bash zlib-inflate\/build\.sh\)/);
      writeFileSync(join(dir, 'text.node'), 'not an ELF file\n');
      assert.match(loadLibdeflate(join(dir, 'text.node')) as string, /text\.node: .*(invalid ELF header|too short)/);
      // A real Node-API addon, but another one: the canvas package's.
      const other = execFileSync('find', [join(REPO, 'node_modules/@napi-rs'), '-name', '*.node'], { encoding: 'utf8' }).split('\n')[0]!;
      assert.match(loadLibdeflate(other) as string, /is not the zlib-inflate addon this build expects/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the addon refuses arguments that would have it read or write outside the arrays given', () => {
    const { inflate } = createRequire(import.meta.url)(ADDON_PATH) as { inflate: (...args: unknown[]) => number };
    const z = deflateSync(Buffer.alloc(1000, 7));
    const out = new Uint8Array(1001);
    assert.equal(inflate(z, out, 1001), 1000);
    assert.throws(() => inflate(z, out, 1002), /TypeError: inflate: outLength must lie within out/);
    assert.throws(() => inflate(z, out, -1), /outLength must lie within out/);
    assert.throws(() => inflate(z, out, Number.NaN), /outLength must lie within out/);
    assert.throws(() => inflate('text', out, 10), /src must be a typed array/);
    assert.throws(() => inflate(z, new Float64Array(200), 10), /out must be a Uint8Array/);
    assert.throws(() => inflate(z, out), /takes three arguments/);
    assert.equal(inflate(z.subarray(0, z.length - 2), out, 1001), -1);
  });

  test('NODE_DEBUG=hzz says which engine a process uses, HZZ_INFLATE=zlib gives the same histogram, a wrong HZZ_INFLATE is named', () => {
    const script = `import { analyzeChunk } from './dist/core/analyze-chunk.js';
      import { chunkTask } from './dist/test/support/analysis-fixture.js';
      const h = await analyzeChunk(chunkTask(${JSON.stringify(join(SHARED_DATA, 'mc_361106.Zee.4lep.root'))}, { entryStart: 0, entryStop: 898 }));
      process.stdout.write(JSON.stringify(h));`;
    const spawn = (env: Record<string, string>) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', env: { ...process.env, HZZ_INFLATE: '', NODE_DEBUG: 'hzz', ...env } });
    const run = (env: Record<string, string>) => {
      const r = spawn(env);
      assert.equal(r.status, 0, r.stderr);
      return r;
    };
    const withAddon = run({});
    const withZlib = run({ HZZ_INFLATE: 'zlib' });
    assert.match(withAddon.stderr, /^HZZ \d+: inflate: libdeflate 1\.\d+ \(native addon\)$/m);
    assert.match(withZlib.stderr, /^HZZ \d+: inflate: Node's zlib [\d.]+\S* \(HZZ_INFLATE=zlib\)$/m);
    assert.equal(withAddon.stderr.split('\n').filter((l) => l.includes('inflate:')).length, 1, 'said once');
    assert.deepEqual(JSON.parse(withAddon.stdout), JSON.parse(withZlib.stdout));
    assert.ok((JSON.parse(withAddon.stdout) as { nSelected: number }).nSelected > 0);
    assert.equal(run({ NODE_DEBUG: '' }).stderr, '', 'silent without NODE_DEBUG');
    // A wrong setting is named for what it is, before any file is read, not blamed on the file.
    const wrong = spawn({ HZZ_INFLATE: 'isal' });
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /\[BadInputError\]: HZZ_INFLATE: is 'isal': it takes 'libdeflate' or 'zlib'/);
    assert.doesNotMatch(wrong.stderr, /Zee/);
  });
});

describe('the addon\'s byte swap and Buffer\'s', () => {
  test('swap the same bytes, for 2-, 4- and 8-byte values, aligned or not, of any count', () => {
    const swap = loadByteSwap();
    if (typeof swap === 'string') assert.fail(`these tests need the zlib-inflate addon: ${swap}`);
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 16) & 0xff;
    for (const size of [2, 4, 8] as const) {
      for (const count of [0, 1, 3, 17, 1000, 20_001]) {
        for (const offset of [0, 1, 8]) {
          const bytes = Uint8Array.from({ length: offset + count * size }, random);
          const ours = bytes.slice().subarray(offset);
          const theirs = bytes.slice().subarray(offset);
          swap(ours, size);
          bufferSwap(theirs, size);
          assert.deepEqual(ours, theirs, `${count} values of ${size} bytes at offset ${offset}`);
          if (count > 10) assert.notDeepEqual(ours, bytes.subarray(offset), 'the bytes changed');
        }
      }
    }
  });

  test('refuses what it cannot swap', () => {
    const swap = loadByteSwap() as (...args: unknown[]) => void;
    assert.throws(() => swap(new Uint8Array(6), 4), /TypeError: swap: the length must be a multiple of size/);
    assert.throws(() => swap(new Uint8Array(6), 3), /size must be 2, 4 or 8/);
    assert.throws(() => swap(new Float32Array(4), 4), /bytes must be a Uint8Array/);
    assert.throws(() => swap(new Uint8Array(4)), /takes two arguments/);
  });
});
