import { hostname } from 'node:os';
import type { Branches } from './catalogue.js';
import type { PartialHistogram, Task } from './contracts/messages.js';
import { binFinder, emptyHistogram, type SampleHistogram } from './histogram.js';
import type { Column } from './root/columns.js';
import { RootTree } from './root/tree.js';
import { fourLeptonMass, passesSelection, type LeptonColumns } from './selection.js';
import { PACKAGE_VERSION } from './version.js';
import { eventWeight, type FactorColumn } from './weights.js';

/**
 * One chunk from file to histogram: read the needed branches window by window, select, weight and
 * fill. Every entry point (local run, worker Job, tests, benchmark) calls this one function.
 */
export async function analyzeChunk(task: Task): Promise<SampleHistogram> {
  const { chunk, branches: b } = task;
  const tree = await RootTree.openCached(chunk.url, task.tree);
  const isMc = task.xsecWeight !== undefined;
  const { lepton, weights } = branchesRead(b, isMc);
  const toGeV = task.energyUnit === 'MeV' ? 0.001 : 1;
  const xsecWeight32 = Math.fround(task.xsecWeight ?? 1);
  const bin = binFinder(task.binning);
  const h = emptyHistogram(task.binning);
  const { sumw, sumw2, entries } = h;

  for await (const w of tree.windows([...lepton, ...weights], chunk.entryStart, chunk.entryStop)) {
    const col = (name: string): Column => w.columns.get(name)!;
    const leptons: LeptonColumns = { pt: col(b.pt), eta: col(b.eta), phi: col(b.phi), energy: col(b.energy), charge: col(b.charge), type: col(b.type) };
    const factors: FactorColumn[] = weights.map((name) => { const c = col(name); return { values: c.values, start: c.entryStart }; });
    h.nRead += w.entryStop - w.entryStart;
    for (let e = w.entryStart; e < w.entryStop; e++) {
      if (!passesSelection(leptons, e)) continue;
      h.nSelected++;
      const i = bin(fourLeptonMass(leptons, e) * toGeV);
      if (i < 0) continue;
      const weight = isMc ? eventWeight(xsecWeight32, factors, e) : 1;
      sumw[i]! += weight;
      sumw2[i]! += weight * weight;
      entries[i]! += 1;
    }
  }
  return h;
}

/**
 * The branches a chunk reads: the four leptons, and for simulation the event weight and its factors.
 * (Here rather than in catalogue.ts: a chunk process must not pay for loading the schema library.)
 */
export function branchesRead(b: Branches, simulated: boolean): { lepton: string[]; weights: string[] } {
  return { lepton: [b.pt, b.eta, b.phi, b.energy, b.charge, b.type], weights: simulated ? [b.mcWeight, ...b.scaleFactors] : [] };
}

/** The partial message for a chunk's histogram. */
export function toPartial(task: Task, h: SampleHistogram): PartialHistogram {
  return {
    schema: 'hzz.partial/v1', analysis: task.analysis, chunk: task.chunk, binning: task.binning,
    sumw: h.sumw, sumw2: h.sumw2, entries: h.entries, nRead: h.nRead, nSelected: h.nSelected,
    worker: { host: hostname(), version: PACKAGE_VERSION }, producedAt: new Date().toISOString(),
  };
}
