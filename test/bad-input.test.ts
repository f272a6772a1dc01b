import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue } from '../core/catalogue.js';
import { AnalysisError } from '../core/contracts/errors.js';
import { locateSample } from '../core/locate.js';
import { RootTree } from '../core/root/tree.js';
import { runLocal } from '../local/run-local.js';
import { chunkTask, DEFINITION, renamedBranch } from './support/analysis-fixture.js';
import { serveFolder, type TestServer } from './support/http-server.js';
import { CLI, fullCatalogueDir, manyBasketsDir, REPO, SHARED_DATA } from './support/paths.js';

/** Every kind of bad input gives an error that names the file or field and the problem. */
const dir = mkdtempSync(join(tmpdir(), 'hzz-bad-'));


async function rejectsWith(p: Promise<unknown>, kind: 'bad-input' | 'transient', pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AnalysisError, `an AnalysisError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('bad files', () => {
  test('a missing file', async () => {
    await rejectsWith(analyzeChunk(chunkTask(join(dir, 'absent.root'))), 'bad-input', /absent\.root: cannot open file: ENOENT/);
  });
  test('a file that is not ROOT', async () => {
    const f = join(dir, 'notes.root');
    writeFileSync(f, 'these are not the events you are looking for\n');
    // Named, never quoted: a path that led to the wrong file must not become a way to read it.
    await rejectsWith(analyzeChunk(chunkTask(f)), 'bad-input', /notes\.root: not a ROOT file \(it does not start with "root"\)$/);
  });
  test('a file whose header is intact and whose key list is damaged: named damaged, bad input, no stack trace', async () => {
    const src = readFileSync(join(SHARED_DATA, 'mc_361106.Zee.4lep.root'));
    // The TFile's TDirectory record follows its name (at fBEGIN + fNbytesName): fSeekKeys is 26 bytes in.
    const seekKeys = src.readUInt32BE(src.readUInt32BE(8) + src.readUInt32BE(28) + 26);
    const nbytesKeys = src.readUInt32BE(src.readUInt32BE(8) + src.readUInt32BE(28) + 10);
    const zeroed = Buffer.from(src);
    zeroed.fill(0, seekKeys, seekKeys + nbytesKeys);
    const f = join(mkdtempSync(join(dir, 'damaged-keys-')), 'mc_361106.Zee.4lep.root');
    writeFileSync(f, zeroed);
    await rejectsWith(RootTree.open(f, 'mini'), 'bad-input', new RegExp(`^${f.replace(/\./g, '\\.')} is damaged: its key list \\(at byte ${seekKeys}\\) cannot be read$`));
    // Overwritten rather than zeroed, jsroot's own reading of the keys fails: still damaged, not "not found".
    const garbled = Buffer.from(src);
    garbled.fill(0xff, seekKeys + 20, seekKeys + nbytesKeys);
    const g = join(mkdtempSync(join(dir, 'garbled-keys-')), 'mc_361106.Zee.4lep.root');
    writeFileSync(g, garbled);
    await rejectsWith(RootTree.open(g, 'mini'), 'bad-input', /mc_361106\.Zee\.4lep\.root is damaged: /);
    // The worker reports it as bad input (exit 2: never retried), in one line without a stack trace.
    const res = await promisify(execFile)('node', [CLI, 'worker'], { env: { ...process.env, HZZ_TASK: JSON.stringify(chunkTask(f)) } }).then(
      () => assert.fail('the worker exited 0 on a damaged file'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(res.code, 2);
    assert.match(res.stderr, /is damaged: its key list/);
    assert.doesNotMatch(res.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(res.stderr, /Key not found/);
  });
  test('a truncated file, with embedded and with on-disk baskets', async () => {
    for (const [name, src] of [['data_D', join(SHARED_DATA, 'data_D.4lep.root')], ['llll', join(fullCatalogueDir(), 'mc_363490.llll.4lep.root')]] as const) {
      const f = join(dir, `${name}-truncated.root`);
      const bytes = readFileSync(src);
      writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await rejectsWith(analyzeChunk(chunkTask(f)), 'bad-input', new RegExp(`${name}-truncated\\.root: truncated ROOT file: ${Math.floor(bytes.length / 2)} bytes, its header says ${bytes.length}`));
    }
  });
  test('a basket whose compressed bytes are damaged', async () => {
    const src = join(manyBasketsDir(), 'mc_363490.llll.4lep.root');
    const basket = (await RootTree.open(src, 'mini')).branch('lep_eta').baskets[7]!;
    const bytes = readFileSync(src);
    // Past the basket's key and the block header, into the deflate data.
    const keylen = bytes.readInt16BE(basket.seek! + 14);
    bytes.fill(0xff, basket.seek! + keylen + 20, basket.seek! + keylen + 60);
    const f = join(dir, 'damaged.root');
    writeFileSync(f, bytes);
    const whole = { entryStart: 0, entryStop: 40_000 };
    await rejectsWith(analyzeChunk(chunkTask(f, whole)), 'bad-input', /damaged\.root: branch 'lep_eta' basket at entry 7000 \(block at byte 0\): corrupt zlib data/);
    // The reader is not left broken: the same process reads a sound file next.
    assert.equal((await analyzeChunk(chunkTask(src, whole))).nRead, 40_000);
  });
  test('a missing tree', async () => {
    await rejectsWith(analyzeChunk(chunkTask(join(SHARED_DATA, 'data_A.4lep.root'), { tree: 'events' })), 'bad-input', /data_A\.4lep\.root: .*'events'/);
  });
  test('a missing branch', async () => {
    await rejectsWith(analyzeChunk(chunkTask(join(SHARED_DATA, 'data_A.4lep.root'), { definition: renamedBranch(DEFINITION, 'lep_E', 'lep_energy') })), 'bad-input', /data_A\.4lep\.root: tree 'mini' has no branch 'lep_energy'/);
  });
  test('an entry range outside the file', async () => {
    await rejectsWith(analyzeChunk(chunkTask(join(SHARED_DATA, 'data_A.4lep.root'), { entryStart: 30, entryStop: 50 })), 'bad-input', /data_A\.4lep\.root: entry range \[30, 50\) is outside the tree's 39 entries/);
  });
});

describe('sample paths stay inside their source', () => {
  const sample = (path: string) => ({ ...loadCatalogue().samples[0]!, path });
  test("'..' segments and absolute paths are refused before anything is opened", () => {
    for (const [source, path, problem] of [
      [SHARED_DATA, '../../../../etc/passwd', /has a '\.\.' segment/],
      [SHARED_DATA, '/etc/passwd', /is absolute/],
      [SHARED_DATA, 'Data/../../secret.root', /has a '\.\.' segment/],
      ['http://127.0.0.1:1/data/', '%2e%2e/%2E%2e/admin', /has a '\.\.' segment/],
    ] as const) {
      assert.throws(() => locateSample(source, sample(path)), (err: unknown) => {
        assert.ok(err instanceof AnalysisError && err.kind === 'bad-input', String(err));
        assert.match(err.message, new RegExp(`^sample 'data_A' path '${path.replace(/\./g, '\\.')}': `));
        assert.match(err.message, problem);
        return true;
      });
    }
  });
  test('a folder linked out of the source is refused; a file linked in is not', () => {
    const source = mkdtempSync(join(dir, 'source-'));
    const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
    writeFileSync(join(elsewhere, 'data_A.4lep.root'), readFileSync(join(SHARED_DATA, 'data_A.4lep.root')));
    symlinkSync(elsewhere, join(source, 'Data'));
    assert.throws(() => locateSample(source, sample('Data/data_A.4lep.root')), /sample 'data_A' path 'Data\/data_A\.4lep\.root': leads outside its data source/);
    mkdirSync(join(source, 'MC'));
    symlinkSync(join(SHARED_DATA, 'data_B.4lep.root'), join(source, 'MC', 'data_B.4lep.root'));
    assert.equal(locateSample(source, sample('MC/data_B.4lep.root')), join(source, 'MC', 'data_B.4lep.root'));
  });
  test('hzz run with a catalogue pointing at /etc/passwd exits 2 naming the sample, and quotes nothing of the file', async () => {
    const cat = JSON.parse(readFileSync(join(REPO, 'catalogues/atlas-2020-4lep.json'), 'utf8'));
    cat.samples[0].path = '../../../../etc/passwd';
    const file = join(dir, 'passwd-catalogue.json');
    writeFileSync(file, JSON.stringify(cat));
    const err = await promisify(execFile)('node', [CLI, 'run', '--catalog', file, '--data', SHARED_DATA, '--samples', 'data_B', '--out', join(dir, 'passwd-out')]).then(
      () => assert.fail('the catalogue was accepted'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2);
    assert.match(err.stderr, /sample 'data_A' path '\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd': has a '\.\.' segment/);
    assert.doesNotMatch(err.stderr, /root:|header says/);
  });
});

describe('HTTP errors', () => {
  let server: TestServer;
  before(async () => {
    server = await serveFolder(SHARED_DATA, { status: (p) => (p.includes('busy') ? 503 : p.includes('secret') ? 403 : undefined) });
  });
  after(() => server.close());
  test('404 is bad input, named with its status', async () => {
    await rejectsWith(analyzeChunk(chunkTask(`${server.url}Data/nothing.root`)), 'bad-input', /nothing\.root: cannot open file: HTTP 404/);
  });
  test('403 is bad input', async () => {
    await rejectsWith(analyzeChunk(chunkTask(`${server.url}secret.root`)), 'bad-input', /secret\.root: cannot open file: HTTP 403/);
  });
  test('503 is transient: worth a retry', async () => {
    await rejectsWith(analyzeChunk(chunkTask(`${server.url}busy.root`)), 'transient', /busy\.root: HTTP 503/);
  });
  test('a server that is not there is transient', async () => {
    await rejectsWith(analyzeChunk(chunkTask('http://127.0.0.1:9/data_A.4lep.root')), 'transient', /127\.0\.0\.1:9\/data_A\.4lep\.root: network error/);
  });
});

describe('bad catalogues', () => {
  const write = (name: string, edit: (c: Record<string, unknown> & { samples: Record<string, unknown>[]; categories: Record<string, unknown>[] }) => void): string => {
    const c = JSON.parse(readFileSync(join(REPO, 'catalogues/atlas-2020-4lep.json'), 'utf8'));
    edit(c);
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(c));
    return f;
  };
  test('a field of the wrong type is named by its path', () => {
    const f = write('xsec-string.json', (c) => { c.samples[4]!.xsec = 'lots'; });
    assert.throws(() => loadCatalogue(f), /xsec-string\.json: invalid: \/samples\/4\/xsec: Expected number/);
  });
  test('an MC sample without its cross-section', () => {
    const f = write('no-sumw.json', (c) => { delete c.samples[5]!.sumw; });
    assert.throws(() => loadCatalogue(f), /no-sumw\.json: \/samples\/5 \(Zmumu\): an MC sample \(category kind 'background'\) needs 'sumw'/);
  });
  test('an unknown category, an unknown field, a wrong energy unit', () => {
    assert.throws(() => loadCatalogue(write('cat.json', (c) => { c.samples[0]!.category = 'dark-matter'; })), /\/samples\/0 \(data_A\): category 'dark-matter' is not one of data, Ztt, ZZ, signal/);
    assert.throws(() => loadCatalogue(write('extra.json', (c) => { c.samples[0]!.colour = 'red'; })), /extra\.json: invalid: \/samples\/0/);
    assert.throws(() => loadCatalogue(write('unit.json', (c) => { c.energyUnit = 'TeV'; })), /unit\.json: invalid: \/energyUnit/);
  });
  test('a category listed twice is named, as a sample listed twice is', () => {
    assert.throws(() => loadCatalogue(write('twice.json', (c) => { c.categories.push({ ...c.categories[1] }); })), /twice\.json: \/categories\/4 \(Ztt\): category 'Ztt' is listed twice/);
    assert.throws(() => loadCatalogue(write('twice-sample.json', (c) => { c.samples.push({ ...c.samples[0] }); })), /twice-sample\.json: \/samples\/\d+ \(data_A\): name 'data_A' is used twice/);
  });
  test('numbers out of range are named by their path, and so is a weight they make out of range', async () => {
    assert.throws(() => loadCatalogue(write('xsec-huge.json', (c) => { c.samples[4]!.xsec = 1e308; })), /xsec-huge\.json: invalid: \/samples\/4\/xsec: Expected number to be less or equal to 100000000000/);
    assert.throws(() => loadCatalogue(write('eff.json', (c) => { c.samples[4]!.efficiency = 2; })), /eff\.json: invalid: \/samples\/4\/efficiency: Expected number to be less or equal to 1/);
    assert.throws(() => loadCatalogue(write('lumi.json', (c) => { c.lumi = 1e308; })), /lumi\.json: invalid: \/lumi: Expected number to be less or equal to 100000/);
    // Each number in range, their quotient not: the worker would weigh every event Infinity, or 1 as float32 rounds.
    const tiny = write('tiny-eff.json', (c) => { c.samples[4]!.efficiency = 1e-300; });
    await rejectsWith(runLocal({ catalogue: tiny, data: SHARED_DATA, samples: ['Zee'], chunkSize: 50_000 }), 'bad-input',
      /sample 'Zee': its cross-section weight lumi × 1000 × xsec \/ \(sumw × efficiency\) = .* = 1\.\d+e\+(29[0-9]|30\d) is outside \[1e-30, 1e\+30\]/);
  });
  test('a catalogue that is not JSON', () => {
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{ "schema": ');
    assert.throws(() => loadCatalogue(f), /catalogue .*broken\.json: .*JSON/);
  });
  test('an unknown sample name is listed against the known ones', async () => {
    await assert.rejects(runLocal({ samples: ['Wprime'], chunkSize: 10 }), /sample 'Wprime': is neither a sample nor a category of atlas-2020-4lep \(samples: data_A,/);
  });
});

describe('hzz run with failures', () => {
  const run = promisify(execFile);
  test('a run with a broken file reports it, keeps the rest, and exits non-zero', async () => {
    const data = join(dir, 'mixed');
    const out = join(dir, 'out-mixed');
    await run('mkdir', ['-p', data]);
    for (const f of ['data_A', 'data_B']) await run('ln', ['-sf', join(SHARED_DATA, `${f}.4lep.root`), join(data, `${f}.4lep.root`)]);
    writeFileSync(join(data, 'data_C.4lep.root'), 'not root');
    const res = await run('node', [CLI, 'run', '--data', data, '--samples', 'data_A,data_B,data_C', '--out', out]).then(
      () => assert.fail('hzz run exited 0 with a broken file'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(res.code, 1);
    assert.match(res.stderr, /FAILED sample data_C \[bad-input\]: .*data_C\.4lep\.root: not a ROOT file/);
    const doc = JSON.parse(readFileSync(join(out, 'histograms.json'), 'utf8'));
    assert.equal(doc.samples.data_A.nRead, 39, 'what succeeded is written');
    assert.equal(doc.samples.data_B.nRead, 156);
    assert.equal(doc.failures.length, 1);
    // A sample that could not be planned leaves the result incomplete, and says which.
    assert.equal(doc.complete, false);
    assert.deepEqual(doc.chunks, { total: 2, done: 2 });
    assert.deepEqual(doc.unplanned.map((u: { sample: string }) => u.sample), ['data_C']);
    assert.match(doc.unplanned[0].error, /data_C\.4lep\.root: not a ROOT file/);
    assert.ok(existsSync(join(out, 'hzz_m4l.png')));
  });
  test('bad arguments exit 2 with one clear line', async () => {
    for (const [args, pattern] of [
      [['--chunk-size', '0'], /--chunk-size: must be a positive whole number \(got 0\)/],
      [['--bins', '250,80,5'], /binning: hi \(80\) must be above lo \(250\)/],
      // More bins than the plot can draw is refused before anything runs.
      [['--bins', '0,80000,1'], /binning: 80000 bins is more than 2000/],
      [['--lumi', '1e308'], /--lumi: must be above 0 and at most 100000 fb⁻¹ \(got 1e\+308\)/],
      [['--catalog', join(dir, 'nope.json')], /catalogue .*nope\.json: ENOENT/],
    ] as const) {
      const err = await run('node', [CLI, 'run', '--data', SHARED_DATA, '--out', join(dir, 'x'), ...args]).then(() => assert.fail(`${args.join(' ')} was accepted`), (e: { code: number; stderr: string }) => e);
      assert.equal(err.code, 2, args.join(' '));
      assert.match(err.stderr, pattern);
    }
  });
});
