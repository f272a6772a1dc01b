import { errorMessage } from '../core/contracts/errors.js';
import { PlotterStatusSchema } from '../core/contracts/plotter-status.js';
import { checked } from '../core/schema-check.js';
import type { PlotterObservation } from './reconcile.js';

/**
 * Asks the plotter's read-only HTTP API (plotter/http-api.ts) what it holds of one analysis. The
 * answer is a level, not an event: asked again after any restart of either side, it says the same,
 * and nothing on the broker (where another consumer may sit) can take it away. Never throws: a
 * plotter that is down, slow or answering nonsense is an observation reconcile() turns into a
 * condition.
 */
export type PlotterClient = (id: string) => Promise<PlotterObservation>;

export function plotterClient(baseUrl: string, timeoutMs = 5_000): PlotterClient {
  const base = baseUrl.replace(/\/+$/, '');
  return async (id) => {
    const url = `${base}/analyses/${id.split('/').map(encodeURIComponent).join('/')}/status`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      if (res.status === 404) return { kind: 'unknown' };
      const body = await res.text();
      if (res.status !== 200) return { kind: 'unreachable', error: `GET ${url}: HTTP ${res.status}: ${body.slice(0, 200).trim()}` };
      const status = checked(PlotterStatusSchema, JSON.parse(body), `the plotter's status of ${id} (GET ${url})`);
      if (status.analysis !== id) return { kind: 'unreachable', error: `GET ${url} answered for '${status.analysis}'` };
      return { kind: 'status', status };
    } catch (err) {
      return { kind: 'unreachable', error: `GET ${url}: ${errorMessage(err)}` };
    }
  };
}
