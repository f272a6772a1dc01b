import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** /healthz (the process answers) and /readyz (the caches are filled) for the Deployment's probes. */
export function startHealthServer(port: number, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' || (req.url === '/readyz' && ready());
    const known = req.url === '/healthz' || req.url === '/readyz';
    res.writeHead(ok ? 200 : known ? 503 : 404, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : known ? 'not ready\n' : 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

export const portOf = (server: Server): number => (server.address() as AddressInfo).port;
