import { createReadStream, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { analysisIdProblem } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import { OUTPUT_FILES } from '../core/outputs.js';
import type { AnalysisProgress } from './analysis-state.js';
import { PLAN_FILE, STATUS_FILE } from './output-store.js';

/**
 * The plotter's HTTP face, for probes, the operator and `kubectl port-forward`:
 *   GET  /healthz                          the process is alive
 *   GET  /readyz                           connected to the broker and consuming
 *   GET  /analyses                         every analysis's status
 *   GET  /analyses/<id>/status             one status (JSON)
 *   GET  /analyses/<id>/<file>             hzz_m4l.png, histograms.json, histograms.csv, plan.json, status.json
 *   POST /analyses/<id>/plan               hand over a plan (the same checks as the plans queue)
 * An id has slashes (`default/higgs/g3`), so the route is read from both ends of the path.
 */
export interface PlotterApi {
  ready(): { ready: boolean; reason?: string };
  statuses(): AnalysisProgress[];
  status(id: string): AnalysisProgress | undefined;
  dir(id: string): string;
  acceptPlan(doc: unknown, id: string): Promise<{ ok: true; created: boolean; status: AnalysisProgress } | { ok: false; conflict: boolean; reason: string }>;
}

const FILE_TYPES: Record<string, string> = {
  [OUTPUT_FILES.png]: 'image/png',
  [OUTPUT_FILES.json]: 'application/json',
  [OUTPUT_FILES.csv]: 'text/csv; charset=utf-8',
  [PLAN_FILE]: 'application/json',
  [STATUS_FILE]: 'application/json',
};

const MAX_BODY = 4 << 20;

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

  if (leaf === 'plan' && req.method === 'POST') {
    let doc: unknown;
    try {
      doc = JSON.parse(await readBody(req));
    } catch (err) {
      return send(res, 400, { error: `body is not JSON: ${errorMessage(err)}` });
    }
    const r = await api.acceptPlan(doc, id);
    if (r.ok) return send(res, r.created ? 201 : 200, r.status);
    return send(res, r.conflict ? 409 : 400, { error: r.reason });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: `${req.method} not allowed on ${path}` });
  if (leaf === 'status') {
    const s = api.status(id);
    return s ? send(res, 200, s) : send(res, 404, { error: `no analysis '${id}'` });
  }
  const type = FILE_TYPES[leaf];
  if (!type) return send(res, 404, { error: `no route ${path}` });
  const file = join(api.dir(id), leaf);
  if (!existsSync(file)) return send(res, 404, { error: `${leaf} of '${id}' is not there (yet)` });
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_BODY) {
        reject(new Error(`body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
