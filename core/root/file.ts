import { open, type FileHandle } from 'node:fs/promises';
import { openFile, TBuffer } from 'jsroot/io';
import { AnalysisError, badInput, transient } from '../contracts/errors.js';
import { isUrl } from '../locate.js';
import { decompressBlocks } from './decompress.js';
import { inflateEngine } from './inflate-into.js';
import { deadlineError, readTimeoutMs, withDeadline } from './read-deadline.js';

/**
 * A ROOT file and where its bytes come from: a local path (read synchronously into the caller's
 * buffer) or an http(s) URL (jsroot's range requests). jsroot reads the file's header, keys and
 * objects; before it does, the header is checked here, so that a missing file, an HTTP error, a
 * file that is not ROOT or one cut short is named for what it is; after it, a file whose key list or
 * objects cannot be read is named damaged. Errors say whether trying again may help (a network
 * failure, a source that stopped answering: every read has a deadline, read-deadline.ts) or not
 * (anything about the file itself). No error quotes the file's bytes: a path that led somewhere it
 * should not must not turn into a way of reading that file.
 */

// jsroot ships no types; these are the few fields of its objects we rely on.
interface JsrootKey { fName: string; fSeekKey: number; fKeylen: number; fNbytes: number; fObjlen: number }
interface JsrootFile {
  fEND: number;
  fSeekKeys: number;
  fNbytesKeys: number;
  fKeys: JsrootKey[];
  readObjBuffer(key: JsrootKey): Promise<unknown>;
  readObject(name: string): Promise<unknown>;
  readBuffer(place: number[]): Promise<DataView | DataView[]>;
}

/** Where compressed bytes are read to, reused from read to read (and grown when too small). */
export interface ReadBuffer { compressed: Buffer }

export class RootFile {
  private fh: Promise<FileHandle> | undefined;

  private constructor(readonly url: string, private readonly file: JsrootFile, private readonly timeoutMs: number) {}

  static async open(url: string): Promise<RootFile> {
    // A wrong HZZ_INFLATE is named as such here, not later as a fault of the file being read.
    inflateEngine();
    const timeoutMs = readTimeoutMs();
    await checkRootHeader(url, timeoutMs);
    let file: JsrootFile | null;
    try {
      // jsroot's own timeout (per request, a little later than ours) closes a stalled connection.
      file = await withDeadline(openFile(url, { timeout: timeoutMs + 1000 }) as Promise<JsrootFile | null>, url, 'opening', timeoutMs);
    } catch (err) {
      throw classifyReadError(url, err, 'its directory (the list of what it holds) cannot be read');
    }
    if (!file) throw damaged(url, 'its directory cannot be read');
    const root = new RootFile(url, file, timeoutMs);
    await root.checkKeyList();
    inflateKeysNatively(file, url);
    return root;
  }

  /**
   * The TTree stored under `name`, as jsroot streams it. The key list has been checked, so a key
   * that is missing means the file has no such tree, and one that cannot be read means it is damaged.
   */
  async readTree(name: string): Promise<unknown> {
    const key = this.file.fKeys.find((k) => k.fName === name);
    if (!key) throw badInput(this.url, `has no TTree named '${name}'`);
    try {
      return await withDeadline(this.file.readObject(name), this.url, `reading tree '${name}'`, this.timeoutMs);
    } catch (err) {
      throw classifyReadError(this.url, err, `its TTree '${name}' (key at byte ${key.fSeekKey}) cannot be read`);
    }
  }

  /**
   * jsroot takes the key list as it finds it: zeroed or overwritten, it reads no keys (so every
   * object is "not found") or keys pointing anywhere. ROOT's own check: the record at fSeekKeys must
   * be a key that says it is fNbytesKeys long and sits at fSeekKeys, and every key must lie inside
   * the file.
   */
  private async checkKeyList(): Promise<void> {
    const { fSeekKeys: at, fNbytesKeys: size, fEND: end } = this.file;
    const what = `its key list (at byte ${at}) cannot be read`;
    // fNbytes (4), version (2), fObjlen (4), datime (4), fKeylen (2), cycle (2), then fSeekKey: 4 bytes, or 8 from version 1000.
    const HEAD = 26;
    if (!(at > 0 && size >= HEAD && at + size <= end)) throw damaged(this.url, what);
    let view: DataView;
    try {
      view = (await withDeadline(this.file.readBuffer([at, HEAD]), this.url, 'opening', this.timeoutMs)) as DataView;
    } catch (err) {
      throw classifyReadError(this.url, err, what);
    }
    const version = view.getInt16(4, false);
    const seek = version > 1000 ? Number(view.getBigInt64(18, false)) : view.getUint32(18, false);
    if (view.getInt32(0, false) !== size || seek !== at) throw damaged(this.url, what);
    const stray = this.file.fKeys.find((k) => !(k.fKeylen > 0 && k.fNbytes >= k.fKeylen && k.fSeekKey > 0 && k.fSeekKey + k.fNbytes <= end));
    if (stray) throw damaged(this.url, `its key list (at byte ${at}) has a key outside the file`);
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
    if (!isUrl(this.url)) {
      try {
        return await withDeadline(this.readLocal(place, into), this.url, 'reading baskets', this.timeoutMs);
      } catch (err) {
        // A read still under way writes into this buffer when it ends: let it write into one no one uses.
        into.compressed = Buffer.alloc(0);
        throw err;
      }
    }
    let res: DataView | DataView[];
    try {
      res = await withDeadline(this.file.readBuffer(place), this.url, 'reading baskets', this.timeoutMs);
    } catch (err) {
      throw classifyReadError(this.url, err, 'its baskets cannot be read');
    }
    return Array.isArray(res) ? res : [res];
  }

  private async readLocal(place: number[], into: ReadBuffer): Promise<DataView[]> {
    let total = 0;
    for (let i = 1; i < place.length; i += 2) total += place[i]!;
    if (into.compressed.length < total) into.compressed = Buffer.allocUnsafeSlow(Math.max(total, 2 * into.compressed.length));
    const buf = into.compressed;
    this.fh ??= open(this.url, 'r');
    const fh = await this.fh;
    // All at once: the thread pool reads them while this thread inflates and analyses. One after
    // another, each read would wait for the main thread to come back to the event loop to start the
    // next, so most of a window's reads happened while the main thread waited for them.
    let at = 0;
    const reads: Promise<DataView>[] = [];
    for (let i = 0; i < place.length; i += 2) {
      const from = place[i]!;
      const bytes = place[i + 1]!;
      const to = at;
      reads.push(fh.read(buf, to, bytes, from).then(({ bytesRead: n }) => {
        if (n !== bytes) throw badInput(this.url, `short read at byte ${from}: ${n} of ${bytes} bytes`);
        return new DataView(buf.buffer, buf.byteOffset + to, n);
      }));
      at += bytes;
    }
    return Promise.all(reads);
  }

  /** Closes the file handle of a local file; the next read reopens it. */
  close(): void {
    this.fh?.then((fh) => fh.close(), () => {}).catch(() => {});
    this.fh = undefined;
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
async function checkRootHeader(url: string, timeoutMs: number): Promise<void> {
  const HEADER = 64;
  let head: Uint8Array;
  let size: number | undefined;
  if (/^https?:/i.test(url)) {
    let res: Response;
    // The signal also covers the body: a server that sends the status line and stalls is cut off too.
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      res = await fetch(url, { headers: { Range: `bytes=0-${HEADER - 1}` }, signal });
      if (res.ok) head = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (signal.aborted) throw deadlineError(url, 'reading the header', timeoutMs);
      throw transient(url, `network error: ${errorText(err)}`, err);
    }
    if (!res.ok) {
      const what = `HTTP ${res.status} ${res.statusText}`.trim();
      throw res.status >= 500 || res.status === 429 || res.status === 408 ? transient(url, what) : badInput(url, `cannot open file: ${what}`);
    }
    head = head!;
    const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
    size = total ? Number(total) : res.status === 200 ? head.length : undefined;
  } else {
    ({ head, size } = await withDeadline(readLocalHeader(url, HEADER), url, 'reading the header', timeoutMs));
  }
  const magic = Buffer.from(head.subarray(0, 4)).toString('latin1');
  if (magic !== 'root') throw badInput(url, 'not a ROOT file (it does not start with "root")');
  if (head.length < 24) throw badInput(url, `truncated ROOT file: only ${size ?? head.length} bytes`);
  // Header: "root", fVersion, fBEGIN, then fEND as 4 bytes, or 8 for files over 2 GB (version > 1000000).
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const end = view.getInt32(4, false) > 1_000_000 ? Number(view.getBigInt64(12, false)) : view.getUint32(12, false);
  if (size !== undefined && size < end) throw badInput(url, `truncated ROOT file: ${size} bytes, its header says ${end}`);
}

async function readLocalHeader(path: string, bytes: number): Promise<{ head: Uint8Array; size: number }> {
  let fd: FileHandle | undefined;
  try {
    fd = await open(path, 'r');
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await fd.read(buf, 0, bytes, 0);
    return { head: buf.subarray(0, bytesRead), size: (await fd.stat()).size };
  } catch (err) {
    throw badInput(path, `cannot open file: ${errorText(err)}`, err);
  } finally {
    await fd?.close();
  }
}

const damaged = (url: string, what: string): AnalysisError => badInput('', `${url} is damaged: ${what}`);

const errorText = (err: unknown): string => {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
};

/**
 * A network failure or a missed deadline may pass; anything else, once the header has been found
 * sound, is the file's own bytes: damaged, with `what` saying which part.
 */
function classifyReadError(url: string, err: unknown, what: string): Error {
  if (err instanceof AnalysisError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/^https?:/.test(url) && /(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|socket hang up|timeout|\b50[234]\b)/i.test(msg)) {
    return transient(url, `network error: ${msg}`, err);
  }
  if (/ENOENT|not possible to open|fail to open|status 404/i.test(msg)) return badInput(url, `cannot open file: ${msg}`, err);
  return badInput('', `${url} is damaged: ${what} (${msg})`, err);
}
