import type { Branches } from '../core/catalogue.js';
import { binFinder, emptyHistogram, type Binning, type SampleHistogram } from '../core/histogram.js';
import type { Column } from '../core/root/columns.js';
import { RootTree } from '../core/root/tree.js';
import { fourLeptonMass, passesSelection, type LeptonColumns } from '../core/selection.js';
import { eventWeight, type FactorColumn } from '../core/weights.js';

/**
 * The 2020 notebook's analysis as it was written in TypeScript before definitions: the yardstick
 * `npm run bench` holds the declared one (definitions/atlas-2020-4lep.json) against.
 */
export async function handWrittenChunk(url: string, treeName: string, b: Branches, binning: Binning, xsecWeight: number | undefined, entryStop: number): Promise<SampleHistogram> {
  const tree = await RootTree.openCached(url, treeName);
  const isMc = xsecWeight !== undefined;
  const lepton = [b.pt, b.eta, b.phi, b.energy, b.charge, b.type];
  const weights = isMc ? [b.mcWeight, ...b.scaleFactors] : [];
  const toGeV = 0.001;
  const xsecWeight32 = Math.fround(xsecWeight ?? 1);
  const bin = binFinder(binning);
  const h = emptyHistogram(binning);
  const { sumw, sumw2, entries } = h;
  for await (const w of tree.windows([...lepton, ...weights], 0, entryStop)) {
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
