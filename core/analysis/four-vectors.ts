/**
 * The invariant mass of n summed four-vectors given as (pt, eta, phi, E), the formula of mass(), the
 * Z candidates and the hand-written loop: px = Σ pt cos φ, py = Σ pt sin φ, pz = Σ pt sinh η,
 * m = √(E² − p²), summed in float64 in object order.
 *
 * cos, sin and sinh come from tables: the angle splits into a multiple a of 1/128 and a remainder b
 * (|b| ≤ 1/256, exact in float64); the table holds the function and its partner at a, a short
 * series gives them at b (the first terms dropped, b⁷/7! and b⁶/6!, are below 2⁻⁶⁰ of the result),
 * and the sum formula joins the two. They stay within 3 × 2⁻⁵² of Math's, which
 * test/four-vectors.test.ts measures, and the histograms still equal the uproot reference's bin for bin.
 *
 * Why not Math.cos and friends: V8 calls fdlibm's C code for each, 12 calls per four-lepton event,
 * then the largest part of the loop after inflate (docs/performance.md); a table lookup is a few
 * multiplies and two loads, shared by cos and sin of one φ, with no branch on the angle's value.
 * Why generated source: written as functions, the 3n calls overran V8's inlining budget and stayed
 * calls. The source is fixed text and the lane count, nothing else. Angles outside the tables
 * (never a lepton's φ in [−π, π] or a detector η) and NaN take Math's path.
 */
/**
 * mass() of n objects, from `lanes`: their n pt, then n eta, n phi and n E. An array rather than 4n
 * arguments: a call that V8 does not inline boxes each number argument, a heap object per value per
 * event, which tripled the garbage collections of a pass; stores into a reused Float64Array do not.
 */
export type MassOf = (lanes: Float64Array) => number;

const STEPS = 128;
/** Just over π, and over the |η| < 2.7 of ATLAS's tracker and calorimeters. */
const PHI_RANGE = 3.25;
const ETA_RANGE = 3;
/** A function and its partner side by side, so that one cache line serves both loads. */
const pairs = (range: number, f: (x: number) => number, g: (x: number) => number): Float64Array =>
  Float64Array.from({ length: 2 * (2 * range * STEPS + 1) }, (_, j) => ((j & 1) === 0 ? f : g)(((j >> 1) - range * STEPS) / STEPS));
const TABLES = { SC: pairs(PHI_RANGE, Math.sin, Math.cos), SCH: pairs(ETA_RANGE, Math.sinh, Math.cosh) };

/**
 * x·STEPS rounded to an integer (half to even) without a call: adding 1.5·2⁵² leaves no bits below
 * the unit, and |x·STEPS| < 2⁵¹ within the tables. Math.round cost three times as much here.
 */
const PRELUDE = `"use strict"; const { SC, SCH } = T, abs = Math.abs, R = ${1.5 * 2 ** 52};`;
const split = (x: string, range: number): string => `const q = ${x} * ${STEPS} + R - R, b = ${x} - q * ${1 / STEPS}, z = b * b, i = 2 * ((q + ${range * STEPS}) | 0);`;

/** Statements setting `c` and `s` to cos and sin of `x`. */
const sinCos = (x: string, c: string, s: string): string =>
  `if (abs(${x}) <= ${PHI_RANGE}) { ${split(x, PHI_RANGE)} const cb = 1 - z * (0.5 - z * ${1 / 24}), sb = b * (1 - z * (${1 / 6} - z * ${1 / 120})); ${c} = SC[i + 1] * cb - SC[i] * sb; ${s} = SC[i] * cb + SC[i + 1] * sb; } else { ${c} = Math.cos(${x}); ${s} = Math.sin(${x}); }`;

/** Statements setting `h` to sinh of `x`. */
const sinhOf = (x: string, h: string): string =>
  `if (abs(${x}) <= ${ETA_RANGE}) { ${split(x, ETA_RANGE)} const chb = 1 + z * (0.5 + z * ${1 / 24}), shb = b * (1 + z * (${1 / 6} + z * ${1 / 120})); ${h} = SCH[i] * chb + SCH[i + 1] * shb; } else { ${h} = Math.sinh(${x}); }`;

const compile = <F>(body: string): F => new Function('T', `${PRELUDE} ${body}`)(TABLES) as F;

const masses = new Map<number, MassOf>();

export function massOf(n: number): MassOf {
  let f = masses.get(n);
  if (!f) {
    const lanes = Array.from({ length: n }, (_, k) => k);
    const args = ['pt', 'eta', 'phi', 'e'].flatMap((p) => lanes.map((k) => `${p}${k}`));
    const read = `const ${args.map((a, i) => `${a} = v[${i}]`).join(', ')};`;
    const sum = (term: (k: number) => string): string => `(${lanes.map(term).join(' + ')})`;
    const body = lanes.map((k) => `let c${k}, s${k}, h${k}; ${sinCos(`phi${k}`, `c${k}`, `s${k}`)} ${sinhOf(`eta${k}`, `h${k}`)}`).join('\n');
    masses.set(n, (f = compile<MassOf>(`return function mass${n}(v) {
${read}
${body}
const px = ${sum((k) => `pt${k} * c${k}`)}, py = ${sum((k) => `pt${k} * s${k}`)}, pz = ${sum((k) => `pt${k} * h${k}`)}, en = ${sum((k) => `e${k}`)};
return Math.sqrt(en * en - (px * px + py * py + pz * pz));
};`)));
  }
  return f;
}

/** The tables' cos, sin and sinh one at a time, from the same source, for the tests. */
export const trig = compile<{ cos(x: number): number; sin(x: number): number; sinh(x: number): number }>(`return {
  cos(x) { let c, s; ${sinCos('x', 'c', 's')} return c; },
  sin(x) { let c, s; ${sinCos('x', 'c', 's')} return s; },
  sinh(x) { let h; ${sinhOf('x', 'h')} return h; },
};`);
