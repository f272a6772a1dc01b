import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { openFile, TBuffer } from 'jsroot/io';
import { badInput, transient } from '../contracts/errors.js';
import { isUrl } from '../locate.js';
import { decompressBlocks } from './decompress.js';
import { inflateEngine } from './inflate-into.js';

/**
 * A ROOT file and where its bytes come from: a local path (read synchronously into the caller's
 * buffer) or an http(s) URL (jsroot's range requests). jsroot reads the file's header, keys and
 * objects; before it does, the header is checked here, so that a missing file, an HTTP error, a
 * file that is not ROOT or one cut short is named for what it is. Errors say whether trying again
 * may help (a network failure) or not (anything about the file itself).
 */

// jsroot ships no types; these are the few fields of its objects we rely on.
interface JsrootKey { fName: string; fSeekKey: number; fKeylen: number; fNbytes: number; fObjlen: number }
interface JsrootFile {
  fEND: number;
  readObjBuffer(key: JsrootKey): Promise<unknown>;
  readObject(name: string): Promise<unknown>;
  readBuffer(place: number[]): Promise<DataView | DataView[]>;
}

/** Where compressed bytes are read to, reused from read to read (and grown when too small). */
export interface ReadBuffer { compressed: Buffer }

export class RootFile {
  private fd: number | undefined;

  private constructor(readonly url: string, private readonly file: JsrootFile) {}

  static async open(url: string): Promise<RootFile> {
    // A wrong HZZ_INFLATE is named as such here, not later as a fault of the file being read.
    inflateEngine();
    await checkRootHeader(url);
    try {
      const file = (await openFile(url)) as JsrootFile | null;
      if (!file) throw new Error('jsroot returned no file');
      inflateKeysNatively(file, url);
      return new RootFile(url, file);
    } catch (err) {
      throw classifyReadError(url, err);
    }
  }

  /** The object stored under `name`, as jsroot streams it (null when there is none). */
  readObject(name: string): Promise<unknown> {
    return this.file.readObject(name);
  }

  /**
   * The byte ranges `place` (offset, length, offset, length, …), in one request. Local bytes land
   * in `into`, valid until the next read into it: the compressed bytes live only until inflated.
   */
  async read(place: number[], into: ReadBuffer): Promise<DataView[]> {
    for (let i = 0; i < place.length; i += 2) {
      if (place[i]! + place[i + 1]! > this.file.fEND) {
        throw badInput(this.url, `basket at byte ${place[i]} (${place[i + 1]} bytes) lies beyond the end of the file (${this.file.fEND} bytes): truncated file?`);
      }
    }
    if (!isUrl(this.url)) return this.readLocal(place, into);
    let res: DataView | DataView[];
    try {
      res = await this.file.readBuffer(place);
    } catch (err) {
      throw classifyReadError(this.url, err);
    }
    return Array.isArray(res) ? res : [res];
  }

  private readLocal(place: number[], into: ReadBuffer): DataView[] {
    let total = 0;
    for (let i = 1; i < place.length; i += 2) total += place[i]!;
    if (into.compressed.length < total) into.compressed = Buffer.allocUnsafeSlow(Math.max(total, 2 * into.compressed.length));
    const buf = into.compressed;
    this.fd ??= openSync(this.url, 'r');
    const views: DataView[] = [];
    let at = 0;
    for (let i = 0; i < place.length; i += 2) {
      const n = readSync(this.fd, buf, at, place[i + 1]!, place[i]!);
      if (n !== place[i + 1]) throw badInput(this.url, `short read at byte ${place[i]}: ${n} of ${place[i + 1]} bytes`);
      views.push(new DataView(buf.buffer, buf.byteOffset + at, n));
      at += n;
    }
    return views;
  }

  /** Closes the file descriptor of a local file; the next read reopens it. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * jsroot inflates the objects it reads (the TTree, with every basket ROOT kept inside it) in
 * JavaScript, which was half the time of a small file. This file's keys go through Node's zlib
 * instead; jsroot's readObjBuffer is the one place it does that, and the result is the same TBuffer.
 */
function inflateKeysNatively(file: JsrootFile, url: string): void {
  file.readObjBuffer = async (key) => {
    const stored = key.fNbytes - key.fKeylen;
    const blob = (await file.readBuffer([key.fSeekKey + key.fKeylen, stored])) as DataView;
    const bytes = new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
    // jsroot keeps what it reads from a key (the TTree with its embedded baskets): fresh memory.
    const data = key.fObjlen <= stored ? bytes : await decompressBlocks(bytes, new Uint8Array(key.fObjlen + 1), key.fObjlen, `${url}: key '${key.fName}'`);
    const buf = new TBuffer(new DataView(data.buffer, data.byteOffset, data.byteLength), 0, file);
    buf.fTagOffset = key.fKeylen;
    return buf;
  };
}

/**
 * Reads the file header before handing the file to jsroot, whose own errors do not say what went
 * wrong: this names the HTTP status, a missing file, a file that does not start with "root", or
 * one shorter than its header says (a truncated download).
 */
async function checkRootHeader(url: string): Promise<void> {
  const HEADER = 64;
  let head: Uint8Array;
  let size: number | undefined;
  if (/^https?:/i.test(url)) {
    let res: Response;
    try {
      res = await fetch(url, { headers: { Range: `bytes=0-${HEADER - 1}` }, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw transient(url, `network error: ${errorText(err)}`, err);
    }
    if (!res.ok) {
      const what = `HTTP ${res.status} ${res.statusText}`.trim();
      throw res.status >= 500 || res.status === 429 || res.status === 408 ? transient(url, what) : badInput(url, `cannot open file: ${what}`);
    }
    head = new Uint8Array(await res.arrayBuffer());
    const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
    size = total ? Number(total) : res.status === 200 ? head.length : undefined;
  } else {
    let fd: FileHandle | undefined;
    try {
      fd = await open(url, 'r');
      const buf = new Uint8Array(HEADER);
      const { bytesRead } = await fd.read(buf, 0, HEADER, 0);
      head = buf.subarray(0, bytesRead);
      size = (await fd.stat()).size;
    } catch (err) {
      throw badInput(url, `cannot open file: ${errorText(err)}`, err);
    } finally {
      await fd?.close();
    }
  }
  const magic = Buffer.from(head.subarray(0, 4)).toString('latin1');
  if (magic !== 'root') throw badInput(url, `not a ROOT file (it starts with ${JSON.stringify(magic)}, not "root")`);
  if (head.length < 24) throw badInput(url, `truncated ROOT file: only ${size ?? head.length} bytes`);
  // Header: "root", fVersion, fBEGIN, then fEND as 4 bytes, or 8 for files over 2 GB (version > 1000000).
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const end = view.getInt32(4, false) > 1_000_000 ? Number(view.getBigInt64(12, false)) : view.getUint32(12, false);
  if (size !== undefined && size < end) throw badInput(url, `truncated ROOT file: ${size} bytes, its header says ${end}`);
}

const errorText = (err: unknown): string => {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
};

/** A network failure may pass; a missing or malformed file will not. */
function classifyReadError(url: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/^https?:/.test(url) && /(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket hang up|timeout|\b50[234]\b)/i.test(msg)) {
    return transient(url, `network error: ${msg}`, err);
  }
  if (/ENOENT|not possible to open|fail to open|status 404/i.test(msg)) return badInput(url, `cannot open file: ${msg}`, err);
  return badInput(url, `not a readable ROOT file: ${msg}`, err);
}
