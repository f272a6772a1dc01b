import { createCanvas, DOMMatrix, GlobalFonts } from '@napi-rs/canvas';
import { BarController, BarElement, Chart, LinearScale, type Plugin } from 'chart.js';
import { binEdges, type SampleHistogram } from './histogram.js';
import type { MergedHistograms } from './merge.js';

/**
 * The notebook's figure: backgrounds stacked in catalogue order, the signal on top of them, data as
 * black points with √N error bars, the background's statistical uncertainty as a hatched band,
 * ticks inward on all four sides, and the ATLAS Open Data labels. Chart.js lays out the axes and
 * draws the stacked bars; what a physics plot needs beyond a web chart is drawn by the plugin below.
 * It draws on a @napi-rs/canvas (Skia, prebuilt for each platform) directly: chartjs-node-canvas
 * would only size the canvas, and it depends on node-canvas, which builds against cairo and pango.
 */
Chart.register(BarController, BarElement, LinearScale);

const WIDTH = 640; // matplotlib's default 6.4 × 4.8 in at 100 dpi
const HEIGHT = 480;
const SCALE = 2;
// DejaVu Sans, registered from its file under a name of our own rather than left to Skia's scan of
// the installed fonts: under its real family name an italic label would take DejaVu Sans Oblique
// where fonts-dejavu-extra is installed and a slanted regular face where it is not, so the same
// numbers drew different PNGs on a workstation and in the image. A machine without the file fails
// loudly here instead of drawing labels in some other font. The italic label is the regular face
// slanted by Skia, so fonts-dejavu-core (regular only) is all the plot needs.
const FONT = 'HZZ DejaVu Sans';
const FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
let fontRegistered = false;

function registerFont(): void {
  if (fontRegistered) return;
  if (!GlobalFonts.registerFromPath(FONT_FILE, FONT)) throw new Error(`the plot's font ${FONT_FILE} is missing (Debian: apt-get install fonts-dejavu-core)`);
  fontRegistered = true;
}

interface Drawn {
  label: string;
  color: string;
  values: number[];
}

export function renderPlot(r: MergedHistograms): Buffer {
  registerFont();
  const { binning, lumi } = r.plan;
  const xTitle = r.plan.histograms?.[0]?.label ?? X_TITLE;
  const edges = binEdges(binning);
  const centres = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]!) / 2);
  const hist = (name: string): SampleHistogram => r.categories.get(name)!;
  const backgrounds = r.plan.categories.filter((c) => c.kind === 'background');
  const signals = r.plan.categories.filter((c) => c.kind === 'signal');
  const data = r.plan.categories.filter((c) => c.kind === 'data');
  const sumOf = (names: string[], pick: (h: SampleHistogram) => number[]) =>
    centres.map((_, i) => names.reduce((s, n) => s + pick(hist(n))[i]!, 0));
  const bkgTotal = sumOf(backgrounds.map((c) => c.name), (h) => h.sumw);
  const bkgErr = sumOf(backgrounds.map((c) => c.name), (h) => h.sumw2).map(Math.sqrt);
  const dataCounts = sumOf(data.map((c) => c.name), (h) => h.entries);
  const stacked: Drawn[] = [...backgrounds, ...signals].map((c) => ({ label: c.label, color: c.color, values: hist(c.name).sumw }));
  // A loop, not Math.max(...values): spread, a long binning's values overflow the call stack.
  const top = largest([dataCounts, sumOf([...backgrounds, ...signals].map((c) => c.name), (h) => h.sumw)]) * 1.6 || 1;
  const withBand = bkgErr.some((e) => e > 0);
  const standIns = [...new Set(r.plan.samples.filter((s) => s.standIn).map((s) => s.category))];

  // Chart.js scales the canvas by devicePixelRatio itself and draws in CSS pixels.
  const canvas = createCanvas(WIDTH, HEIGHT);
  const ctx = canvas.getContext('2d');
  const overlay: Plugin<'bar'> = {
    id: 'hzz-physics',
    beforeDraw(chart) {
      chart.ctx.fillStyle = 'white';
      chart.ctx.fillRect(0, 0, chart.width, chart.height);
    },
    afterDatasetsDraw(chart) {
      const g = chart.ctx;
      const x = chart.scales.x!;
      const y = chart.scales.y!;
      const area = chart.chartArea;
      g.save();
      g.beginPath();
      g.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      g.clip();
      hatchBand(g, edges.map((e) => x.getPixelForValue(e)), bkgTotal.map((v, i) => [y.getPixelForValue(v - bkgErr[i]!), y.getPixelForValue(v + bkgErr[i]!)]));
      if (data.length > 0) {
        centres.forEach((c, i) => {
          const n = dataCounts[i]!;
          if (n <= 0) return;
          const px = x.getPixelForValue(c);
          dataPoint(g, px, y.getPixelForValue(n), y.getPixelForValue(n - Math.sqrt(n)), y.getPixelForValue(n + Math.sqrt(n)));
        });
      }
      g.restore();
      inwardTicks(g, chart);
      labels(g, area, lumi, standIns);
      legend(g, area, stacked, data.length > 0, withBand);
    },
    afterDraw(chart) {
      // Chart.js lays the axis title out (its text is transparent) and this draws it with the subscripts Chart.js cannot.
      const x = chart.scales.x!;
      chart.ctx.save();
      chart.ctx.fillStyle = 'black';
      chart.ctx.textBaseline = 'middle';
      richText(chart.ctx, xTitle, x.right, x.bottom - X_TITLE_SIZE * 1.2 / 2 - 4, X_TITLE_SIZE, 'right');
      chart.ctx.restore();
    },
  };

  new Chart(ctx as unknown as CanvasRenderingContext2D, {
    type: 'bar',
    data: {
      datasets: stacked.map((d) => ({
        label: d.label,
        data: centres.map((c, i) => ({ x: c, y: d.values[i]! })),
        backgroundColor: d.color,
        borderWidth: 0,
        barPercentage: 1,
        categoryPercentage: 1,
        grouped: false,
        stack: 'mc',
      })),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: SCALE,
      layout: { padding: { top: 8, right: 14, left: 4, bottom: 2 } },
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: {
        x: {
          type: 'linear', min: binning.lo, max: binning.hi, stacked: true, offset: false,
          grid: { display: false, drawTicks: false },
          border: { display: true, color: 'black', width: 1 },
          ticks: { color: 'black', font: { family: FONT, size: 12 }, padding: 6, stepSize: niceStep(binning.hi - binning.lo), includeBounds: false },
          title: { display: true, text: plainText(xTitle), align: 'end', color: 'rgba(0,0,0,0)', font: { family: FONT, size: X_TITLE_SIZE } },
        },
        y: {
          type: 'linear', min: 0, max: top, stacked: true,
          grid: { display: false, drawTicks: false },
          border: { display: true, color: 'black', width: 1 },
          ticks: { color: 'black', font: { family: FONT, size: 12 }, padding: 6, maxTicksLimit: 8, includeBounds: false },
          title: { display: true, text: `Events / ${formatNumber(binning.width)} GeV`, align: 'end', color: 'black', font: { family: FONT, size: 12 } },
        },
      },
    },
    plugins: [overlay],
  });
  return canvas.toBuffer('image/png');
}

function largest(lists: readonly number[][]): number {
  let max = -Infinity;
  for (const list of lists) for (const v of list) if (v > max) max = v;
  return max;
}

function niceStep(span: number): number {
  const raw = span / 9;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

const formatNumber = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
// A period's luminosity has up to three decimals (the 2025 notebook's data15 period D: 0.105 fb⁻¹).
const formatLumi = (v: number): string => String(Number(v.toPrecision(4)));

/**
 * The "////" hatch of matplotlib: a transparent bar per bin, filled with diagonal lines. The bars
 * are one path filled with a tiled pattern of the lines, whatever the number of bins: a clip per
 * bin made a 2,000-bin plot take seconds.
 */
function hatchBand(g: CanvasRenderingContext2D, xs: number[], ys: [number, number][]): void {
  g.save();
  g.fillStyle = hatchPattern(g);
  // One outline: along the band's top from left to right, back along its bottom.
  g.beginPath();
  ys.forEach(([, hi], i) => { g.lineTo(xs[i]!, hi); g.lineTo(xs[i + 1]!, hi); });
  for (let i = ys.length - 1; i >= 0; i--) { g.lineTo(xs[i + 1]!, ys[i]![0]); g.lineTo(xs[i]!, ys[i]![0]); }
  g.fill();
  g.restore();
}

/** One tile of the hatch, a diagonal every 4 px at 45°, drawn at the canvas's scale so it stays sharp. */
function hatchPattern(g: CanvasRenderingContext2D): CanvasPattern {
  const step = 4;
  const tile = createCanvas(step * SCALE, step * SCALE);
  const t = tile.getContext('2d');
  t.scale(SCALE, SCALE);
  t.strokeStyle = 'rgba(0,0,0,0.5)';
  t.lineWidth = 1;
  t.beginPath();
  // The diagonal and its two neighbours' ends in the corners, so the tiles join into unbroken lines.
  for (const dx of [-step, 0, step]) {
    t.moveTo(dx, step);
    t.lineTo(dx + step, 0);
  }
  t.stroke();
  const pattern = g.createPattern(tile as unknown as CanvasImageSource, 'repeat')!;
  pattern.setTransform(new DOMMatrix([1 / SCALE, 0, 0, 1 / SCALE, 0, 0]));
  return pattern;
}

function dataPoint(g: CanvasRenderingContext2D, x: number, y: number, yLo: number, yHi: number): void {
  g.strokeStyle = 'black';
  g.fillStyle = 'black';
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(x, yLo);
  g.lineTo(x, yHi);
  g.stroke();
  g.beginPath();
  g.arc(x, y, 3 * 1.3, 0, 2 * Math.PI);
  g.fill();
}

/** Major ticks from Chart.js's own tick positions, minor ticks between them, on all four sides. */
function inwardTicks(g: CanvasRenderingContext2D, chart: Chart<'bar'>): void {
  const { left, right, top, bottom } = chart.chartArea;
  g.save();
  g.strokeStyle = 'black';
  g.lineWidth = 1;
  g.strokeRect(left, top, right - left, bottom - top);
  const major = 7;
  const minor = 4;
  const tickAt = (scale: 'x' | 'y') => {
    const s = chart.scales[scale]!;
    const values = s.ticks.map((t) => t.value);
    const step = values.length > 1 ? values[1]! - values[0]! : 0;
    const minors = step > 0 ? minorValues(s.min, s.max, values, step / (isFivey(step) ? 5 : 4)) : [];
    return { s, values, minors };
  };
  g.beginPath();
  const { s: xs, values: xv, minors: xm } = tickAt('x');
  for (const [v, len] of [...xv.map((v) => [v, major] as const), ...xm.map((v) => [v, minor] as const)]) {
    const px = xs.getPixelForValue(v);
    g.moveTo(px, bottom); g.lineTo(px, bottom - len);
    g.moveTo(px, top); g.lineTo(px, top + len);
  }
  const { s: ys, values: yv, minors: ym } = tickAt('y');
  for (const [v, len] of [...yv.map((v) => [v, major] as const), ...ym.map((v) => [v, minor] as const)]) {
    const py = ys.getPixelForValue(v);
    g.moveTo(left, py); g.lineTo(left + len, py);
    g.moveTo(right, py); g.lineTo(right - len, py);
  }
  g.stroke();
  g.restore();
}

// matplotlib's AutoMinorLocator splits a major step of 1, 2.5 or 5 (× 10^k) in 5 and others in 4.
const isFivey = (step: number): boolean => [1, 5, 2.5].includes(Number((step / 10 ** Math.floor(Math.log10(step))).toFixed(6)));

function minorValues(min: number, max: number, majors: number[], step: number): number[] {
  const out: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + 1e-9; k++) {
    const v = k * step;
    if (!majors.some((m) => Math.abs(m - v) < step * 1e-3)) out.push(v);
  }
  return out;
}

function labels(g: CanvasRenderingContext2D, area: { left: number; right: number; top: number; bottom: number }, lumi: number, standIns: string[]): void {
  const x = area.left + 0.05 * (area.right - area.left);
  const yAt = (f: number) => area.bottom - f * (area.bottom - area.top);
  g.save();
  g.fillStyle = 'black';
  g.textBaseline = 'middle';
  g.font = `13px "${FONT}"`;
  g.fillText('ATLAS Open Data', x, yAt(0.93));
  g.font = `italic 8px "${FONT}"`;
  g.fillText('for education', x, yAt(0.875));
  richText(g, `\u221A$s$ = 13 TeV, \u222BL dt = ${formatLumi(lumi)} fb^{\u22121}`, x, yAt(0.815), 10);
  richText(g, '$H \u2192 ZZ^* \u2192 $4$\u2113$', x, yAt(0.75), 10);
  if (standIns.length > 0) {
    // Synthetic files must not pass for ATLAS data: said in red right under the labels, naming what they stand in for.
    const text = `Stand-in files (${standIns.join(', ')}): synthetic, not physics`;
    g.font = `10px "${FONT}"`;
    g.fillStyle = 'white';
    g.fillRect(x - 2, yAt(0.69) - 7, g.measureText(text).width + 4, 14);
    g.fillStyle = '#c00000';
    g.fillText(text, x, yAt(0.69));
  }
  g.restore();
}

function legend(g: CanvasRenderingContext2D, area: { left: number; right: number; top: number }, stacked: Drawn[], withData: boolean, withBand: boolean): void {
  const rowH = 19;
  const box = 14;
  const x = area.left + 0.56 * (area.right - area.left);
  let y = area.top + 10;
  g.save();
  g.textBaseline = 'middle';
  const row = (draw: () => void, text: string) => {
    draw();
    g.fillStyle = 'black';
    richText(g, text, x + box + 8, y + box / 2, 10);
    y += rowH;
  };
  for (const d of stacked) row(() => { g.fillStyle = d.color; g.fillRect(x, y, box, box * 0.7); }, d.label);
  if (withData) row(() => dataPoint(g, x + box / 2, y + box / 2, y, y + box), 'Data');
  if (withBand) {
    row(() => {
      g.save(); g.fillStyle = hatchPattern(g); g.fillRect(x, y, box, box * 0.7); g.restore();
    }, 'Stat. Unc.');
  }
  g.restore();
}

/** For plans made before definitions, which carry no histogram label. */
const X_TITLE = '4-lepton invariant mass m_{4\u2113} [GeV]';
const X_TITLE_SIZE = 13;

/** A run of a label: its text, whether italic (inside $…$), and whether sub- or superscript. */
interface Run { text: string; italic: boolean; shift: 0 | 1 | -1 }

/**
 * The notebook's labels are matplotlib mathtext ($m_H$, $ZZ^*$, fb$^{-1}$), and so are the
 * catalogue's: `$…$` is italic, `_x`/`_{…}` a subscript, `^x`/`^{…}` a superscript. DejaVu Sans
 * has no subscript ℓ or H and no superscript *, so they are drawn as smaller, shifted text.
 */
export function parseRich(text: string): Run[] {
  const runs: Run[] = [];
  let italic = false;
  let plain = '';
  const flush = (): void => { if (plain) runs.push({ text: plain, italic, shift: 0 }); plain = ''; };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '$') { flush(); italic = !italic; continue; }
    if ((c === '_' || c === '^') && i + 1 < text.length) {
      flush();
      const close = text[i + 1] === '{' ? text.indexOf('}', i + 2) : -1;
      const script = close > 0 ? text.slice(i + 2, close) : String.fromCodePoint(text.codePointAt(i + 1)!);
      runs.push({ text: script, italic, shift: c === '_' ? 1 : -1 });
      i = close > 0 ? close : i + script.length;
      continue;
    }
    plain += c;
  }
  flush();
  return runs;
}

/** A label without its markup, as a legend entry reads in text (the axis title's width for Chart.js). */
export function plainText(text: string): string {
  return parseRich(text).map((r) => r.text).join('');
}

function richText(g: CanvasRenderingContext2D, text: string, x: number, y: number, size: number, align: 'left' | 'right' = 'left'): void {
  const runs = parseRich(text);
  const fontOf = (r: Run): string => `${r.italic ? 'italic ' : ''}${r.shift ? size * 0.7 : size}px "${FONT}"`;
  const widths = runs.map((r) => { g.font = fontOf(r); return g.measureText(r.text).width; });
  let at = align === 'right' ? x - widths.reduce((a, b) => a + b, 0) : x;
  g.save();
  g.textAlign = 'left';
  runs.forEach((r, i) => {
    g.font = fontOf(r);
    g.fillText(r.text, at, y + r.shift * size * (r.shift > 0 ? 0.3 : 0.4));
    at += widths[i]!;
  });
  g.restore();
}
