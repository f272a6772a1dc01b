import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import { binCount, binEdges, binFinder, binningProblems, emptyHistogram, mergeInto, type SampleHistogram } from '../core/histogram.js';
import { mergePartials } from '../core/merge.js';

const B = { lo: 80, hi: 250, width: 5 };

test('binning is numpy.arange(80, 255, 5): 34 bins, edges 80..250', () => {
  assert.equal(binCount(B), 34);
  const e = binEdges(B);
  assert.equal(e.length, 35);
  assert.equal(e[0], 80);
  assert.equal(e[34], 250);
  assert.equal(e[9], 125);
});

test('bins follow numpy.histogram: [lo, hi) except the last, closed; outside and NaN dropped', () => {
  const bin = binFinder(B);
  assert.equal(bin(80), 0);
  assert.equal(bin(84.99999), 0);
  assert.equal(bin(85), 1);
  assert.equal(bin(125), 9);
  assert.equal(bin(124.99999999), 8);
  assert.equal(bin(249.9), 33);
  assert.equal(bin(250), 33, 'the last bin includes its upper edge');
  assert.equal(bin(250.000001), -1);
  assert.equal(bin(79.9999), -1);
  assert.equal(bin(Number.NaN), -1);
  assert.equal(bin(-Infinity), -1);
});

test('edges that are not exact in binary still land as numpy puts them', () => {
  const b = { lo: 0, hi: 1, width: 0.1 };
  const bin = binFinder(b);
  const edges = binEdges(b);
  for (let i = 0; i < 10; i++) {
    assert.equal(bin(edges[i]!), i, `edge ${edges[i]} opens bin ${i}`);
    assert.equal(bin(edges[i + 1]! - 1e-12), i);
  }
});

test('a binning must be finite, ordered, positive and divide into whole bins', () => {
  assert.deepEqual(binningProblems(B), []);
  assert.deepEqual(binningProblems({ lo: 80, hi: 250, width: 2.5 }), []);
  assert.match(binningProblems({ lo: 250, hi: 80, width: 5 }).join(), /hi \(80\) must be above lo \(250\)/);
  assert.match(binningProblems({ lo: 80, hi: 250, width: -5 }).join(), /width must be positive/);
  assert.match(binningProblems({ lo: 80, hi: 250, width: 7 }).join(), /not a whole number of bins/);
  assert.match(binningProblems({ lo: 80, hi: Number.NaN, width: 5 }).join(), /finite/);
});

function randomHistogram(seed: number): SampleHistogram {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const h = emptyHistogram(B);
  for (let i = 0; i < h.sumw.length; i++) {
    const n = Math.floor(rnd() * 5);
    h.entries[i] = n;
    // Weights that are multiples of 2^-10 sum exactly, so any order must give the same bits.
    const w = Math.round(rnd() * 1024) / 1024;
    h.sumw[i] = n * w;
    h.sumw2[i] = n * w * w;
  }
  h.nRead = 10 + Math.floor(rnd() * 100);
  h.nSelected = Math.floor(h.nRead / 2);
  return h;
}

test('merging is associative and commutative', () => {
  const [a, b, c] = [randomHistogram(1), randomHistogram(2), randomHistogram(3)];
  const copy = (h: SampleHistogram) => structuredClone(h);
  const ab_c = mergeInto(mergeInto(copy(a), b), c);
  const a_bc = mergeInto(copy(a), mergeInto(copy(b), c));
  const cba = mergeInto(mergeInto(copy(c), b), a);
  assert.deepEqual(ab_c, a_bc);
  assert.deepEqual(ab_c, cba);
  assert.equal(ab_c.nRead, a.nRead + b.nRead + c.nRead);
  assert.deepEqual(mergeInto(emptyHistogram(B), a), a, 'the empty histogram is the identity');
});

test('histograms of different binnings refuse to merge', () => {
  assert.throws(() => mergeInto(emptyHistogram(B), emptyHistogram({ lo: 80, hi: 250, width: 2.5 })), /34 bins|68 and 34|cannot merge/);
});

test('merging partials gives bit-identical sums whatever order they arrive in', () => {
  const plan: Plan = {
    schema: 'hzz.plan/v2', analysis: 't', release: 'r', lumi: 10, lumiSource: 'set', binning: B,
    categories: [{ name: 'bkg', kind: 'background', label: 'B', color: '#ff0000' }],
    samples: [{ sample: 's', category: 'bkg', url: 'f', entries: 400 }], chunkSize: 10, chunks: 40, unplanned: [],
  };
  // Weights of very different sizes, as MC samples have: float64 sums of these depend on the order
  // of the additions, which mergePartials fixes by adding in chunk order.
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const partial = (index: number): PartialHistogram => {
    const h = emptyHistogram(B);
    for (const bin of [3, 9]) {
      h.sumw[bin] = (rnd() - 0.3) * 10 ** Math.floor(rnd() * 12 - 4);
      h.sumw2[bin] = h.sumw[bin]! ** 2;
      h.entries[bin] = 1;
    }
    return { schema: 'hzz.partial/v2', analysis: 't', chunk: { index, sample: 's', category: 'bkg', url: 'f', entryStart: index * 10, entryStop: index * 10 + 10 }, binning: B, ...h, nRead: 10, nSelected: 2, worker: { host: 'h', version: 'v' }, producedAt: '' };
  };
  const inOrder = Array.from({ length: plan.chunks }, (_, i) => partial(i));
  const shuffles = [1, 2, 3, 4, 5].map((k) => [...inOrder].sort((p, q) => ((p.chunk.index * 7919 * k) % 41) - ((q.chunk.index * 7919 * k) % 41)));
  // The values must be able to show a missing sort: added in arrival order, the shuffles' sums differ.
  const naive = (ps: PartialHistogram[]) => ps.reduce((acc, p) => mergeInto(acc, p), emptyHistogram(B)).sumw;
  assert.ok(shuffles.some((ps) => naive(ps).some((w, i) => w !== naive(inOrder)[i])), 'the test values are order-sensitive');

  const expected = mergePartials(plan, inOrder);
  for (const ps of shuffles) {
    const got = mergePartials(plan, ps);
    assert.deepEqual(got.samples.get('s'), expected.samples.get('s'));
    assert.deepEqual(got.categories.get('bkg'), expected.categories.get('bkg'));
  }
  assert.deepEqual(expected.samples.get('s')!.sumw, naive(inOrder), 'chunk order is the order of the sums');
  assert.equal(expected.chunksDone, 40);
  assert.equal(expected.categories.get('bkg')!.nRead, 400);
});
