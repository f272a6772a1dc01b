import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { analysisIdProblem } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import { OUTPUT_FILES } from '../core/outputs.js';
import type { AnalysisProgress } from './analysis-state.js';
import { PLAN_FILE, STATUS_FILE } from './output-store.js';

/**
 * The plotter's HTTP face, for probes, the operator and `kubectl port-forward`, read-only: anything
 * that changes an analysis comes through the broker, where only the operator may write a plan
 * (docs/contracts.md, "Who may say what"). Every other method is 405.
 *   GET  /healthz                          the process is alive
 *   GET  /readyz                           connected to the broker and consuming
 *   GET  /analyses                         every analysis's status
 *   GET  /analyses/<id>/status             one status (JSON)
 *   GET  /analyses/<id>/<file>             hzz_m4l.png, histograms.json, histograms.csv, plan.json, status.json
 * An id has slashes (`default/higgs/g3`), so the route is read from both ends of the path.
 */
export interface PlotterApi {
  ready(): { ready: boolean; reason?: string };
  statuses(): AnalysisProgress[];
  status(id: string): AnalysisProgress | undefined;
  dir(id: string): string;
}

const FILE_TYPES: Record<string, string> = {
  [OUTPUT_FILES.png]: 'image/png',
  [OUTPUT_FILES.json]: 'application/json',
  [OUTPUT_FILES.csv]: 'text/csv; charset=utf-8',
  [PLAN_FILE]: 'application/json',
  [STATUS_FILE]: 'application/json',
};

export function createPlotterServer(api: PlotterApi): Server {
  return createServer((req, res) => {
    route(api, req, res).catch((err) => send(res, 500, { error: errorMessage(err) }));
  });
}

async function route(api: PlotterApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://plotter').pathname;
  if (path === '/healthz') return send(res, 200, { ok: true });
  if (path === '/readyz') {
    const r = api.ready();
    return send(res, r.ready ? 200 : 503, r);
  }
  if (path === '/analyses' || path === '/analyses/') return req.method === 'GET' ? send(res, 200, api.statuses()) : send(res, 405, { error: 'GET only' });
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return send(res, 400, { error: 'bad escape in path' });
  }
  if (segments[0] !== 'analyses' || segments.length < 3) return send(res, 404, { error: `no route ${path}` });
  const leaf = segments[segments.length - 1]!;
  const id = segments.slice(1, -1).join('/');
  const problem = analysisIdProblem(id);
  if (problem) return send(res, 400, { error: problem });

  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `${req.method} not allowed on ${path}` });
  if (leaf === 'status') {
    const s = api.status(id);
    return s ? send(res, 200, s) : send(res, 404, { error: `no analysis '${id}'` });
  }
  const type = FILE_TYPES[leaf];
  if (!type) return send(res, 404, { error: `no route ${path}` });
  const file = join(api.dir(id), leaf);
  if (!existsSync(file)) return send(res, 404, { error: `${leaf} of '${id}' is not there (yet)` });
  if (leaf === PLAN_FILE) {
    // The plan's partialKey signs the analysis's partials: it is never served.
    const plan = JSON.parse(readFileSync(file, 'utf8')) as { partialKey?: string };
    delete plan.partialKey;
    return send(res, 200, plan);
  }
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}
