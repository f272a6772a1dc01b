import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CLI, fullCatalogueDir, SHARED_DATA } from './support/paths.js';
import { createVhost } from './support/broker.js';

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'hzz-cli-'));

/** PNG width and height from the IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

test('hzz run writes the plot, the JSON and the CSV, and prints the summary table', async () => {
  const dir = join(out, 'all');
  const { stdout, stderr } = await run('node', [CLI, 'run', '--data', fullCatalogueDir(), '--out', dir, '--chunk-size', '400', '--parallel', '2']);
  // stderr is not a terminal here: progress comes as plain lines (a batch job's log), the last one full.
  assert.match(stderr, /^chunks =+ (\d+)\/\1 \| 100% \| \d+s$/m);
  assert.match(stdout, /^category\s+kind\s+events read\s+selected\s+in range\s+weighted yield\s+± stat$/m);
  assert.match(stdout, /^data\s+data\s+832\s+507\s+371\s+371\s+19\.3$/m, 'data: read, selected, in 80-250 GeV, √N');
  assert.match(stdout, /^Ztt\s+background\s+2613\s+834\s+735\s+112\.13\d\d\s+5\.22\d\d$/m);
  assert.match(stdout, /wall time [\d.]+ s, [\d,]+ events\/s/);
  assert.deepEqual(pngSize(join(dir, 'hzz_m4l.png')), [1280, 960]);
  const doc = JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8'));
  assert.equal(doc.schema, 'hzz.histograms/v1');
  assert.equal(doc.complete, true);
  assert.deepEqual(Object.keys(doc.categories), ['data', 'Ztt', 'ZZ', 'signal']);
  assert.equal(doc.edges.length, 35);
  assert.equal(Math.max(...doc.categories.data.entries), 39);
  const csv = readFileSync(join(dir, 'histograms.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'category,kind,bin_low,bin_high,sumw,sumw2,entries');
  assert.equal(csv.length, 1 + 4 * 34);
  assert.match(csv[1]!, /^data,data,80,85,\d+,\d+,\d+$/);
});

test('--samples restricts the run to the named samples and categories; --bins and --lumi are applied', async () => {
  const dir = join(out, 'some');
  await run('node', [CLI, 'run', '--data', SHARED_DATA, '--samples', 'data_A,Ztt', '--bins', '80,250,2.5', '--lumi', '5', '--out', dir]);
  const doc = JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8'));
  assert.deepEqual(Object.keys(doc.samples), ['data_A', 'Zee', 'Zmumu', 'ttbar_lep']);
  assert.equal(doc.categories.data.entries.length, 68);
  assert.equal(doc.lumi, 5);
  assert.equal(doc.lumiSource, 'set');
  const ten = JSON.parse(readFileSync(join(out, 'all/histograms.json'), 'utf8'));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // Half the luminosity, half the MC yield (up to float32 rounding of the weights).
  assert.ok(Math.abs(sum(doc.samples.Zee.sumw) / sum(ten.samples.Zee.sumw) - 0.5) < 1e-6);
});

test('hzz run --broker goes through RabbitMQ and writes the same numbers as the in-process run', async () => {
  const vhost = await createVhost('cli');
  try {
    const viaBroker = join(out, 'broker');
    const inProcess = join(out, 'inproc');
    const args = ['--data', SHARED_DATA, '--samples', 'data,Ztt', '--chunk-size', '250', '--parallel', '2'];
    await run('node', [CLI, 'run', ...args, '--out', inProcess]);
    await run('node', [CLI, 'run', ...args, '--out', viaBroker, '--broker', vhost.url]);
    const numbers = (d: string) => {
      const doc = JSON.parse(readFileSync(join(d, 'histograms.json'), 'utf8'));
      return { categories: doc.categories, samples: doc.samples, complete: doc.complete };
    };
    assert.deepEqual(numbers(viaBroker), numbers(inProcess));
  } finally {
    await vhost.dispose();
  }
});
