// Two histograms.json documents compared as the chaos test demands: every count exact, every sum of
// weights equal to 1e-12 relative (the merge may add the same partials in another order), and
// whether they are in fact bit-equal, for the report.

const SUMS = new Set(['sumw', 'sumw2']);
const REL = 1e-12;

export interface Comparison {
  /** Where they differ beyond the tolerance, as JSON paths with both values; empty when equal. */
  differences: string[];
  /** No number differs at all. */
  bitEqual: boolean;
}

/** Compares a and b; `ignore` lists top-level keys that differ by design (the analysis id). */
export function compareHistograms(a: unknown, b: unknown, ignore: readonly string[] = []): Comparison {
  const differences: string[] = [];
  let bitEqual = true;
  const walk = (x: unknown, y: unknown, path: string, sum: boolean): void => {
    if (typeof x === 'number' && typeof y === 'number') {
      if (Object.is(x, y)) return;
      bitEqual = false;
      const close = sum && Math.abs(x - y) <= REL * Math.max(Math.abs(x), Math.abs(y));
      if (!close) differences.push(`${path}: ${x} vs ${y}`);
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) differences.push(`${path}: ${x.length} vs ${y.length} elements`);
      else x.forEach((v, i) => walk(v, y[i], `${path}[${i}]`, sum));
      return;
    }
    if (x && y && typeof x === 'object' && typeof y === 'object') {
      const kx = Object.keys(x).filter((k) => path !== '' || !ignore.includes(k)).sort();
      const ky = Object.keys(y).filter((k) => path !== '' || !ignore.includes(k)).sort();
      if (kx.join() !== ky.join()) differences.push(`${path || '/'}: keys ${kx.join(',')} vs ${ky.join(',')}`);
      else for (const k of kx) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}/${k}`, sum || SUMS.has(k));
      return;
    }
    if (x !== y) differences.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  walk(a, b, '', false);
  return { differences, bitEqual: bitEqual && differences.length === 0 };
}
