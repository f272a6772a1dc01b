import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { SampleHistogram } from '../core/histogram.js';

/**
 * The declared 2020 analysis (definitions/atlas-2020-4lep.json, compiled) against the hand-written
 * loop it replaced, on one file: best of `reps` each, the two modes taking turns so that a busy
 * machine slows both alike. The histograms must be identical; the goal is within 10%.
 */
export function declaredVsHandWritten(repo: string, file: string, reps: number, rounds = 2): string {
  const run = (mode: string) => JSON.parse(execFileSync('node', [join(repo, 'dist/bench/declared-single-core.js'), mode, String(reps), file], { encoding: 'utf8', maxBuffer: 1 << 26 })) as { seconds: number[]; histogram: SampleHistogram };
  const best = { declared: Infinity, 'hand-written': Infinity };
  const histograms: Partial<Record<keyof typeof best, string>> = {};
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['hand-written', 'declared'] as const) {
      const out = run(mode);
      best[mode] = Math.min(best[mode], ...out.seconds);
      const { sumw, sumw2, entries, nRead, nSelected } = out.histogram;
      histograms[mode] = JSON.stringify({ sumw, sumw2, entries, nRead, nSelected });
    }
  }
  if (histograms.declared !== histograms['hand-written']) throw new Error('the declared and the hand-written 2020 analyses filled different histograms');
  const slower = best.declared / best['hand-written'] - 1;
  return `declared 2020 analysis ${best.declared.toFixed(3)} s, hand-written ${best['hand-written'].toFixed(3)} s: ${slower >= 0 ? `${(100 * slower).toFixed(1)}% slower` : `${(-100 * slower).toFixed(1)}% faster`} (goal: within 10%), same histogram`;
}
