import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/**
 * A static file server on loopback with HTTP Range support, single and multipart/byteranges, as
 * the web servers that host ATLAS Open Data answer, with their Data/ and MC/ layout. `status` forces an error status for paths
 * that match, to test how readers report server failures; `stall` leaves the requests it picks
 * unanswered (the connection open, no byte sent), as a server that hangs does.
 */
export interface TestServer {
  url: string;
  requests: { path: string; range: string | undefined }[];
  close(): Promise<void>;
}

export interface ServeOptions {
  status?: (path: string) => number | undefined;
  stall?: (path: string, range: string | undefined) => boolean;
  layout?: 'as-is' | 'official';
}

export async function serveFolder(root: string, opts: ServeOptions = {}): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path, range: req.headers.range });
    const forced = opts.status?.(path);
    if (forced) return void res.writeHead(forced).end(`status ${forced}`);
    if (opts.stall?.(path, req.headers.range)) return;
    // The official server keeps data under Data/ and MC/; our local folders are flat.
    const local = opts.layout === 'as-is' ? path : path.replace(/^\/(Data|MC)\//, '/');
    const file = join(root, normalize(local).replace(/^(\.\.[/\\])+/, ''));
    if (!existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end('not found');
    const size = statSync(file).size;
    const read = (start: number, end: number): Buffer => {
      const buf = Buffer.alloc(end - start + 1);
      const fd = openSync(file, 'r');
      try { readSync(fd, buf, 0, buf.length, start); } finally { closeSync(fd); }
      return buf;
    };
    const headers = { 'Accept-Ranges': 'bytes', 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges' };
    if (req.method === 'HEAD') return void res.writeHead(200, { ...headers, 'Content-Length': size }).end();
    const ranges = parseRanges(req.headers.range, size);
    if (!ranges) return void res.writeHead(200, { ...headers, 'Content-Length': size }).end(read(0, size - 1));
    if (ranges.length === 0) return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    if (ranges.length === 1) {
      const [s, e] = ranges[0]!;
      return void res.writeHead(206, { ...headers, 'Content-Range': `bytes ${s}-${e}/${size}`, 'Content-Length': e - s + 1 }).end(read(s, e));
    }
    const boundary = 'hzzboundary';
    const parts = ranges.flatMap(([s, e]) => [Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/${size}\r\n\r\n`), read(s, e), Buffer.from('\r\n')]);
    const body = Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
    res.writeHead(206, { ...headers, 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** null: no Range header; []: unsatisfiable. */
function parseRanges(header: string | undefined, size: number): [number, number][] | null {
  if (!header?.startsWith('bytes=')) return null;
  return header.slice(6).split(',').flatMap((part) => {
    const [a, b] = part.trim().split('-');
    let start = a === '' ? size - Number(b) : Number(a);
    let end = a === '' || b === '' ? size - 1 : Number(b);
    start = Math.max(0, start);
    end = Math.min(size - 1, end);
    return start <= end && start < size ? [[start, end] as [number, number]] : [];
  });
}
