import { badInput } from '../contracts/errors.js';
import { BasketMemory } from './basket-memory.js';
import { diskPayload, embeddedPayload } from './basket.js';
import { basketAt, describeBranch, findBranch, type BasketRef, type BranchInfo, type JsrootTree } from './branch.js';
import { decodeBasket, holdsEntries, type Column, type Counter, type ElementType } from './columns.js';
import { RootFile, type ReadBuffer } from './file.js';

/**
 * Reads chosen branches of a TTree, over any entry range, basket by basket into typed columns, in
 * windows within which every branch stays in one basket. jsroot does the parts that need ROOT's
 * streamer machinery (the file header, keys, the TTree object with its branch and basket tables,
 * HTTP range requests); the baskets themselves are fetched raw (file.ts), parsed (basket.ts) and
 * decoded (columns.ts) into memory reused from basket to basket, so that memory holds one basket
 * per branch whatever the file size.
 */

/**
 * A branch being read: its memory, and the basket last decoded into it; for a counted branch, the
 * slot of the branch that counts its entries' values.
 */
interface Slot { branch: BranchInfo; memory: BasketMemory; column?: Column; counter?: Slot; sums?: Counter['sums'] }

/**
 * What one pass over the tree (one windows() call) decodes into: a slot per branch, and two buffers
 * compressed baskets are read into, one for the window being decoded and one for the next, which is
 * read meanwhile. A pass takes an arena of its own, so passes that run at the same time never share
 * memory; a pass that follows another gets its arena back and finds the basket the previous chunk
 * ended in still decoded, as consecutive chunks of one file often share a basket.
 */
interface Arena { slots: Map<string, Slot>; reads: [ReadBuffer, ReadBuffer] }

/**
 * A window planned from the basket tables alone: its end, the slots whose basket changes and the
 * basket each gets, and the read of their compressed bytes, started when the window was planned.
 */
interface Planned { entryStop: number; load: Slot[]; refs: BasketRef[]; raw: Promise<DataView[]> }

const INTEGER_TYPES = new Set<ElementType>(['i4', 'u4', 'i2', 'u2', 'i1', 'u1']);

export class RootTree {
  private readonly arenas: Arena[] = [];
  /** The TTree object never changes once read: each branch's basket table is worked out once. */
  private readonly branches = new Map<string, BranchInfo>();
  private static readonly cache = new Map<string, Promise<RootTree>>();

  private constructor(
    readonly url: string,
    readonly treeName: string,
    readonly entries: number,
    private readonly file: RootFile,
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

  /** The TTree's title: where scripts/make_root_files.py marks a stand-in (STAND_IN_TITLE). */
  get title(): string {
    return this.tree.fTitle ?? '';
  }

  static async open(url: string, treeName: string): Promise<RootTree> {
    const file = await RootFile.open(url);
    const obj = (await file.readTree(treeName)) as JsrootTree | null;
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
   * asked for: the memory under them is reused. The compressed baskets of the next window are read
   * while this one is inflated and analysed, so that the reading (a file read in libuv's threads, an
   * HTTP request) overlaps the work instead of adding to it.
   */
  async *windows(branchNames: readonly string[], start: number, stop: number): AsyncGenerator<Window> {
    if (!(Number.isInteger(start) && Number.isInteger(stop) && start >= 0 && start <= stop && stop <= this.entries)) {
      throw badInput(this.url, `entry range [${start}, ${stop}) is outside the tree's ${this.entries} entries`);
    }
    const arena = this.arenas.pop() ?? { slots: new Map<string, Slot>(), reads: [{ compressed: Buffer.alloc(0) }, { compressed: Buffer.alloc(0) }] };
    let next: Planned | undefined;
    try {
      // A branch's counter never changes: a slot is linked to its counter's once, when made.
      const slotOf = (branch: BranchInfo): Slot => {
        let slot = arena.slots.get(branch.name);
        if (!slot) {
          const counter = this.counterOf(branch);
          arena.slots.set(branch.name, (slot = { branch, memory: new BasketMemory(), ...(counter ? { counter: slotOf(counter) } : {}) }));
        }
        return slot;
      };
      const slots = this.branchesRead(branchNames).map(slotOf);
      // What each slot will hold once the windows planned so far are decoded.
      const held = slots.map((s) => s.column && { entryStart: s.column.entryStart, entryStop: s.column.entryStop });
      const columns = new Map<string, Column>();
      let turn = 0;
      let at = start;
      next = start < stop ? this.plan(slots, held, start, stop, arena.reads[turn]) : undefined;
      while (next) {
        const now = next;
        const raw = await now.raw;
        next = now.entryStop < stop ? this.plan(slots, held, now.entryStop, stop, arena.reads[(turn ^= 1)]) : undefined;
        await this.decode(now, raw);
        for (const s of slots) columns.set(s.branch.name, s.column!);
        yield { entryStart: at, entryStop: now.entryStop, columns };
        at = now.entryStop;
      }
    } finally {
      // A read still under way writes into the arena: it is handed on only once that read is over.
      await next?.raw.catch(() => {});
      this.arenas.push(arena);
    }
  }

  /**
   * The window that starts at `at`: the slots whose basket does not cover it get the basket that
   * does, and the read of those baskets starts now, into `into`.
   */
  private plan(slots: Slot[], held: ({ entryStart: number; entryStop: number } | undefined)[], at: number, stop: number, into: ReadBuffer): Planned {
    const load: Slot[] = [];
    const refs: BasketRef[] = [];
    let end = stop;
    slots.forEach((slot, i) => {
      let h = held[i];
      if (!(h && at >= h.entryStart && at < h.entryStop)) {
        const b = slot.branch;
        const ref = basketAt(b.baskets, at);
        if (!ref) throw badInput(this.url, `branch '${b.name}' has no basket for entry ${at}`);
        load.push(slot);
        refs.push(ref);
        held[i] = h = ref;
      }
      end = Math.min(end, h.entryStop);
    });
    const place = refs.flatMap((r) => (r.embedded ? [] : [r.seek!, r.bytes!]));
    const raw = place.length === 0 ? Promise.resolve([]) : this.file.read(place, into);
    // Its failure is thrown when the window is reached; until then it must not count as unhandled.
    raw.catch(() => {});
    return { entryStop: end, load, refs, raw };
  }

  /**
   * The branches a pass over `branchNames` reads: those, and the counters of counted ones among
   * them (counterOf), counters first, so that a window decodes them before the baskets they count.
   */
  branchesRead(branchNames: readonly string[]): BranchInfo[] {
    const requested = branchNames.map((n) => this.branch(n));
    return [...new Set([...requested.flatMap((b) => this.counterOf(b) ?? []), ...requested])];
  }

  /**
   * The scalar integer branch counting a counted branch's values, when the tree has it: a basket
   * of the counted branch is then inflated only up to the end of its data, without the table of
   * entry offsets after it (a fifth of a basket of four floats an entry), as the counter's values
   * give those offsets.
   */
  private counterOf(b: BranchInfo): BranchInfo | undefined {
    if (b.counter === undefined || b.counter === b.name) return undefined;
    let counter: BranchInfo;
    try {
      counter = this.branch(b.counter);
    } catch {
      return undefined;
    }
    return counter.layout === 'scalar' && INTEGER_TYPES.has(counter.type) ? counter : undefined;
  }

  /**
   * Whether a pass inflates `b`'s baskets only up to the end of their data, not their offset table:
   * a std::vector branch always, a counted one when the tree has its counter (and, basket by basket,
   * when the counter's basket holds all its entries: decode()).
   */
  dataOnly(b: BranchInfo): boolean {
    return b.layout === 'stl-vector' || this.counterOf(b) !== undefined;
  }

  /**
   * Decodes the baskets a planned window loads, from their compressed bytes `raw`, into their slots:
   * the slots in order, as plan() lists them counters first. A counted basket takes its entries'
   * lengths from its counter's basket when that holds all its entries (in files of aligned baskets,
   * as ROOT's clusters and uproot's writer make them, always), else from its own offset table; a
   * std::vector basket from its entries' headers. Either is then inflated only up to its data's end.
   */
  private async decode({ load, refs }: Planned, raw: DataView[]): Promise<void> {
    let next = 0;
    for (const [i, ref] of refs.entries()) {
      const slot = load[i]!;
      const { branch, memory } = slot;
      // The slot's basket is about to be overwritten: never leave it claiming entries it lost.
      slot.column = undefined;
      const what = `${this.url}: branch '${branch.name}' basket at entry ${ref.entryStart}`;
      const c = slot.counter?.column;
      const counter = c && holdsEntries(c, ref.entryStart, ref.entryStop) ? (slot.counter as Counter) : undefined;
      // Whatever goes wrong from here on is in the file's bytes: bad input, named by `what`.
      try {
        const payload = ref.embedded ? embeddedPayload(ref.embedded, memory) : await diskPayload(raw[next++]!, branch.layout === 'counted' && !counter, what, memory);
        if (payload.entries !== ref.entryStop - ref.entryStart) {
          throw new Error(`${what}: holds ${payload.entries} entries, the tree says ${ref.entryStop - ref.entryStart}`);
        }
        slot.column = decodeBasket(branch.layout, branch.type, payload, ref.entryStart, what, memory, counter);
      } catch (err) {
        throw badInput('', (err as Error).message, err);
      }
    }
  }

  /** Closes the file descriptor of a local file; the tree reopens it if read again. */
  close(): void {
    this.file.close();
  }
}

export interface Window {
  entryStart: number;
  entryStop: number;
  /** Branch name → the decoded basket that covers [entryStart, entryStop). */
  columns: ReadonlyMap<string, Column>;
}