import { closeSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { openFile, TBuffer } from 'jsroot/io';
import { isUrl } from '../locate.js';
import { badInput, transient } from '../contracts/errors.js';
import { BasketMemory } from './basket-memory.js';
import { decompressBlocks } from './decompress.js';
import { decodeBasket, type BasketPayload, type Column, type ElementType, type Layout } from './columns.js';

/**
 * Reads chosen branches of a TTree, over any entry range, basket by basket into typed columns.
 * jsroot does the parts that need ROOT's streamer machinery (the file header, keys, the TTree
 * object with its branch and basket tables, HTTP range requests); the baskets themselves are
 * fetched raw and decoded here into memory reused from basket to basket, so that memory holds one
 * basket per branch whatever the file size.
 */

// jsroot ships no types; these are the few fields of its objects we rely on.
interface JsrootKey { fName: string; fSeekKey: number; fKeylen: number; fNbytes: number; fObjlen: number }
interface JsrootFile {
  fEND: number;
  readObjBuffer(key: JsrootKey): Promise<unknown>;
  readObject(name: string): Promise<JsrootTree>;
  readBuffer(place: number[]): Promise<DataView | DataView[]>;
}
interface JsrootLeaf { _typename: string; fName: string; fLen: number; fIsUnsigned?: boolean; fLeafCount?: unknown }
interface JsrootBasket { fKeylen: number; fLast: number; fNevBuf: number; fBufferRef?: { arr: DataView }; fEntryOffset?: ArrayLike<number> }
interface JsrootBranch {
  _typename: string; fName: string; fClassName?: string; fEntryOffsetLen: number; fWriteBasket: number;
  fBasketSeek: ArrayLike<number>; fBasketBytes: ArrayLike<number>; fBasketEntry: ArrayLike<number>;
  fLeaves: { arr: JsrootLeaf[] }; fBranches?: { arr: JsrootBranch[] }; fBaskets?: { arr: (JsrootBasket | null)[] };
}
interface JsrootTree { _typename: string; fEntries: number; fBranches: { arr: JsrootBranch[] } }

interface BasketRef {
  entryStart: number;
  entryStop: number;
  /** On-disk location; absent for a basket held inside the TTree object itself. */
  seek?: number;
  bytes?: number;
  embedded?: JsrootBasket;
}

export interface BranchInfo {
  name: string;
  layout: Layout;
  type: ElementType;
  baskets: BasketRef[];
}

/** A branch being read: its memory, and the basket last decoded into it. */
interface Slot { branch: BranchInfo; memory: BasketMemory; column?: Column }

/**
 * What one pass over the tree (one windows() call) decodes into: a slot per branch, and the buffer
 * compressed baskets are read into. A pass takes an arena of its own, so passes that run at the same
 * time never share memory; a pass that follows another gets its arena back and finds the basket the
 * previous chunk ended in still decoded, as consecutive chunks of one file often share a basket.
 */
interface Arena { slots: Map<string, Slot>; compressed: Buffer }

export class RootTree {
  private readonly arenas: Arena[] = [];
  /** The TTree object never changes once read: each branch's basket table is worked out once. */
  private readonly branches = new Map<string, BranchInfo>();
  private fd: number | undefined;
  private static readonly cache = new Map<string, Promise<RootTree>>();

  private constructor(
    readonly url: string,
    readonly treeName: string,
    readonly entries: number,
    private readonly file: JsrootFile,
    private readonly tree: JsrootTree,
  ) {}

  /**
   * Opens a tree, reusing one of the last few opened: a local run sends many chunks of the same
   * file to one thread, and reading the TTree object again for each would dominate small chunks.
   */
  static openCached(url: string, treeName: string): Promise<RootTree> {
    const key = `${treeName}\u0000${url}`;
    let p = RootTree.cache.get(key);
    if (!p) {
      p = RootTree.open(url, treeName);
      p.catch(() => RootTree.cache.delete(key));
      RootTree.cache.set(key, p);
      while (RootTree.cache.size > 4) {
        const oldest = RootTree.cache.keys().next().value!;
        RootTree.cache.get(oldest)!.then((t) => t.close(), () => {});
        RootTree.cache.delete(oldest);
      }
    }
    return p;
  }

  static async open(url: string, treeName: string): Promise<RootTree> {
    const file = await openRootFile(url);
    let obj: JsrootTree | null;
    try {
      obj = await file.readObject(treeName);
    } catch (err) {
      throw badInput(url, `cannot read tree '${treeName}': ${(err as Error).message}`, err);
    }
    if (!obj || obj._typename !== 'TTree') {
      throw badInput(url, `has no TTree named '${treeName}'${obj ? ` ('${treeName}' is a ${obj._typename})` : ''}`);
    }
    return new RootTree(url, treeName, Number(obj.fEntries), file, obj);
  }

  /**
   * Entries per cluster when the named branches' baskets share boundaries at an even spacing (the
   * last cluster may be shorter), as ROOT's auto-flush and uproot's writer make them; undefined
   * otherwise, for a single basket, or when a branch is missing (the worker reports that).
   */
  clusterEntries(branchNames: readonly string[]): number | undefined {
    let shared: Set<number> | undefined;
    for (const name of branchNames) {
      let starts: Set<number>;
      try {
        starts = new Set(this.branch(name).baskets.map((k) => k.entryStart));
      } catch {
        return undefined;
      }
      shared = shared ? new Set([...shared].filter((s) => starts.has(s))) : starts;
    }
    const bounds = [...(shared ?? [])].sort((x, y) => x - y);
    const spacing = bounds[1];
    if (spacing === undefined || bounds[0] !== 0) return undefined;
    return bounds.every((s, i) => s === i * spacing) ? spacing : undefined;
  }

  branch(name: string): BranchInfo {
    let info = this.branches.get(name);
    if (!info) {
      const b = findBranch(this.tree.fBranches.arr, name);
      if (!b) throw badInput(this.url, `tree '${this.treeName}' has no branch '${name}'`);
      info = describeBranch(b, this.url, this.entries);
      this.branches.set(name, info);
    }
    return info;
  }

  /**
   * Yields the entry range [start, stop) in windows within which every requested branch stays in
   * one basket. A window's columns are views of the decoded baskets, valid until the next window is
   * asked for: the memory under them is reused.
   */
  async *windows(branchNames: readonly string[], start: number, stop: number): AsyncGenerator<Window> {
    if (!(Number.isInteger(start) && Number.isInteger(stop) && start >= 0 && start <= stop && stop <= this.entries)) {
      throw badInput(this.url, `entry range [${start}, ${stop}) is outside the tree's ${this.entries} entries`);
    }
    const branches = [...new Set(branchNames)].map((n) => this.branch(n));
    const arena = this.arenas.pop() ?? { slots: new Map<string, Slot>(), compressed: Buffer.alloc(0) };
    try {
      const slots = branches.map((branch) => {
        let slot = arena.slots.get(branch.name);
        if (!slot) arena.slots.set(branch.name, (slot = { branch, memory: new BasketMemory() }));
        return slot;
      });
      const columns = new Map<string, Column>();
      let at = start;
      while (at < stop) {
        const covers = (c: Column | undefined) => c !== undefined && at >= c.entryStart && at < c.entryStop;
        await this.loadBaskets(slots.filter((s) => !covers(s.column)), at, arena);
        let end = stop;
        for (const s of slots) {
          columns.set(s.branch.name, s.column!);
          end = Math.min(end, s.column!.entryStop);
        }
        yield { entryStart: at, entryStop: end, columns };
        at = end;
      }
    } finally {
      this.arenas.push(arena);
    }
  }

  /** Fetches, in one request, the basket of each slot's branch that holds entry `at`, and decodes them. */
  private async loadBaskets(slots: Slot[], at: number, arena: Arena): Promise<void> {
    const refs = slots.map(({ branch: b }) => {
      const ref = b.baskets.find((k) => at >= k.entryStart && at < k.entryStop);
      if (!ref) throw badInput(this.url, `branch '${b.name}' has no basket for entry ${at}`);
      return ref;
    });
    const place = refs.flatMap((r) => (r.embedded ? [] : [r.seek!, r.bytes!]));
    const raw = place.length === 0 ? [] : await this.read(place, arena);
    let next = 0;
    // allSettled: a failed basket must not return the arena while another is still being written.
    const settled = await Promise.allSettled(refs.map(async (ref, i) => {
      const slot = slots[i]!;
      const { branch, memory } = slot;
      // The slot's basket is about to be overwritten: never leave it claiming entries it lost.
      slot.column = undefined;
      const what = `${this.url}: branch '${branch.name}' basket at entry ${ref.entryStart}`;
      // Whatever goes wrong from here on is in the file's bytes: bad input, named by `what`.
      try {
        const payload = ref.embedded ? embeddedPayload(ref.embedded, memory) : await diskPayload(raw[next++]!, branch.layout !== 'scalar', what, memory);
        if (payload.entries !== ref.entryStop - ref.entryStart) {
          throw new Error(`${what}: holds ${payload.entries} entries, the tree says ${ref.entryStop - ref.entryStart}`);
        }
        slot.column = decodeBasket(branch.layout, branch.type, payload, ref.entryStart, what, memory);
      } catch (err) {
        throw badInput('', (err as Error).message, err);
      }
    }));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async read(place: number[], arena: Arena): Promise<DataView[]> {
    for (let i = 0; i < place.length; i += 2) {
      if (place[i]! + place[i + 1]! > this.file.fEND) {
        throw badInput(this.url, `basket at byte ${place[i]} (${place[i + 1]} bytes) lies beyond the end of the file (${this.file.fEND} bytes): truncated file?`);
      }
    }
    if (!isUrl(this.url)) return this.readLocal(place, arena);
    let res: DataView | DataView[];
    try {
      res = await this.file.readBuffer(place);
    } catch (err) {
      throw classifyReadError(this.url, err);
    }
    return Array.isArray(res) ? res : [res];
  }

  /**
   * Local baskets are read synchronously into the arena's buffer, reused from window to window: the
   * compressed bytes live only until they are inflated.
   */
  private readLocal(place: number[], arena: Arena): DataView[] {
    let total = 0;
    for (let i = 1; i < place.length; i += 2) total += place[i]!;
    if (arena.compressed.length < total) arena.compressed = Buffer.allocUnsafeSlow(Math.max(total, 2 * arena.compressed.length));
    const buf = arena.compressed;
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

  /** Closes the file descriptor of a local file; the tree reopens it if read again. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface Window {
  entryStart: number;
  entryStop: number;
  /** Branch name → the decoded basket that covers [entryStart, entryStop). */
  columns: ReadonlyMap<string, Column>;
}

async function openRootFile(url: string): Promise<JsrootFile> {
  await checkRootHeader(url);
  try {
    const file = (await openFile(url)) as JsrootFile | null;
    if (!file) throw new Error('jsroot returned no file');
    inflateKeysNatively(file, url);
    return file;
  } catch (err) {
    throw classifyReadError(url, err);
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

function findBranch(list: JsrootBranch[], name: string): JsrootBranch | undefined {
  for (const b of list) {
    if (b.fName === name) return b;
    const sub = b.fBranches?.arr?.length ? findBranch(b.fBranches.arr, name) : undefined;
    if (sub) return sub;
  }
  return undefined;
}

const leafTypes: Record<string, [ElementType, ElementType]> = {
  TLeafF: ['f4', 'f4'], TLeafD: ['f8', 'f8'], TLeafI: ['i4', 'u4'], TLeafS: ['i2', 'u2'],
  TLeafB: ['i1', 'u1'], TLeafO: ['bool', 'bool'],
};

const cppTypes: Record<string, ElementType> = {
  float: 'f4', Float_t: 'f4', double: 'f8', Double_t: 'f8', int: 'i4', Int_t: 'i4',
  'unsigned int': 'u4', UInt_t: 'u4', short: 'i2', Short_t: 'i2', 'unsigned short': 'u2', UShort_t: 'u2',
  char: 'i1', Char_t: 'i1', 'unsigned char': 'u1', UChar_t: 'u1', bool: 'bool', Bool_t: 'bool',
};

function describeBranch(b: JsrootBranch, url: string, treeEntries: number): BranchInfo {
  const unsupported = (why: string) => badInput(url, `branch '${b.fName}' ${why}; this reader handles numbers, arrays counted by another leaf, and std::vector/RVec of numbers`);
  let layout: Layout;
  let type: ElementType | undefined;
  const leaf = b.fLeaves.arr[0];
  if (b._typename === 'TBranchElement') {
    const m = /^(?:std::)?(?:vector|ROOT::VecOps::RVec|ROOT::RVec)<\s*([\w ]+?)\s*>$/.exec(b.fClassName ?? '');
    type = m ? cppTypes[m[1]!] : undefined;
    if (!type) throw unsupported(`has class '${b.fClassName}'`);
    layout = 'stl-vector';
  } else if (b._typename === 'TBranch' && leaf && b.fLeaves.arr.length === 1) {
    type = leafTypes[leaf._typename]?.[leaf.fIsUnsigned ? 1 : 0];
    if (!type) throw unsupported(`has a leaf of type ${leaf._typename}`);
    if (leaf.fLeafCount) layout = 'counted';
    else if (leaf.fLen === 1) layout = 'scalar';
    else throw unsupported('is a fixed-size array');
  } else {
    throw unsupported(`is a ${b._typename} with ${b.fLeaves.arr.length} leaves`);
  }
  const baskets: BasketRef[] = [];
  for (let k = 0; k < b.fWriteBasket; k++) {
    baskets.push({ entryStart: Number(b.fBasketEntry[k]), entryStop: Number(b.fBasketEntry[k + 1]), seek: Number(b.fBasketSeek[k]), bytes: Number(b.fBasketBytes[k]) });
  }
  // The basket still being filled when the tree was written is saved inside the TTree key.
  const embedded = b.fBaskets?.arr?.[b.fWriteBasket];
  if (embedded && embedded.fNevBuf > 0) {
    const entryStart = Number(b.fBasketEntry[b.fWriteBasket] ?? 0);
    baskets.push({ entryStart, entryStop: entryStart + embedded.fNevBuf, embedded });
  }
  const covered = baskets.at(-1)?.entryStop ?? 0;
  if (covered < treeEntries) throw badInput(url, `branch '${b.fName}' holds ${covered} of the tree's ${treeEntries} entries`);
  return { name: b.fName, layout, type, baskets };
}

/** A basket jsroot read inside the TTree object: copied into the slot, as decoding overwrites it. */
function embeddedPayload(bk: JsrootBasket, memory: BasketMemory): BasketPayload {
  const arr = bk.fBufferRef?.arr;
  const n = arr?.byteLength ?? 0;
  const data = memory.bytes('data', n).subarray(0, n);
  if (arr) data.set(new Uint8Array(arr.buffer, arr.byteOffset, n));
  let entryOffsets: Int32Array | undefined;
  if (bk.fEntryOffset) {
    entryOffsets = memory.int32('entryOffsets', bk.fEntryOffset.length);
    for (let i = 0; i < entryOffsets.length; i++) entryOffsets[i] = bk.fEntryOffset[i]!;
  }
  return { data, keylen: bk.fKeylen, last: bk.fLast, entries: bk.fNevBuf, entryOffsets };
}

/**
 * Parses a basket as stored on disk: its key (with the TBasket header at the key's end), then data,
 * which lands in the slot's memory, inflated or copied.
 */
async function diskPayload(raw: DataView, hasOffsets: boolean, what: string, memory: BasketMemory): Promise<BasketPayload> {
  const nbytes = raw.getInt32(0, false);
  const objlen = raw.getInt32(6, false);
  const keylen = raw.getInt16(14, false);
  if (nbytes !== raw.byteLength || keylen <= 0 || keylen > nbytes || objlen <= 0) {
    throw new Error(`${what}: not a basket (key says ${nbytes} bytes, ${raw.byteLength} read)`);
  }
  // The TBasket header ends the key: ..., fNevBuf (4), fLast (4), flag (1).
  const entries = raw.getInt32(keylen - 9, false);
  const last = raw.getInt32(keylen - 5, false);
  const stored = new Uint8Array(raw.buffer, raw.byteOffset + keylen, nbytes - keylen);
  const room = memory.bytes('data', objlen);
  let data: Uint8Array;
  if (objlen === stored.length) {
    data = room.subarray(0, objlen);
    data.set(stored);
  } else {
    data = await decompressBlocks(stored, room, objlen, what);
  }
  let entryOffsets: Int32Array | undefined;
  if (hasOffsets) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const at = last - keylen;
    const n = dv.getInt32(at, false);
    if (n < entries || at + 4 + 4 * n > data.length) throw new Error(`${what}: bad entry offset table`);
    entryOffsets = memory.int32('entryOffsets', n);
    for (let i = 0; i < n; i++) entryOffsets[i] = dv.getInt32(at + 4 + 4 * i, false);
  }
  return { data, keylen, last, entries, entryOffsets };
}
