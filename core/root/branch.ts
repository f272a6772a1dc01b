import { badInput } from '../contracts/errors.js';
import type { ElementType, Layout } from './columns.js';

/**
 * The branch model: from jsroot's TTree object, what this reader needs of a branch it reads, its
 * element type, how its entries lie in a basket (the layout), and its basket table (which entries
 * each basket holds and where it is).
 */

// jsroot ships no types; these are the few fields of its objects we rely on.
interface JsrootLeaf { _typename: string; fName: string; fLen: number; fIsUnsigned?: boolean; fLeafCount?: { fName?: string } | null }
export interface JsrootBasket { fKeylen: number; fLast: number; fNevBuf: number; fBufferRef?: { arr: DataView }; fEntryOffset?: ArrayLike<number> }
export interface JsrootBranch {
  _typename: string; fName: string; fClassName?: string; fEntryOffsetLen: number; fWriteBasket: number;
  fBasketSeek: ArrayLike<number>; fBasketBytes: ArrayLike<number>; fBasketEntry: ArrayLike<number>;
  fLeaves: { arr: JsrootLeaf[] }; fBranches?: { arr: JsrootBranch[] }; fBaskets?: { arr: (JsrootBasket | null)[] };
}
export interface JsrootTree { _typename: string; fTitle?: string; fEntries: number; fBranches: { arr: JsrootBranch[] } }

export interface BasketRef {
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
  /** For a counted branch of one value per count: the leaf that counts its entries' values. */
  counter?: string;
}

export function findBranch(list: JsrootBranch[], name: string): JsrootBranch | undefined {
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

export function describeBranch(b: JsrootBranch, url: string, treeEntries: number): BranchInfo {
  const unsupported = (why: string) => badInput(url, `branch '${b.fName}' ${why}; this reader handles numbers, arrays counted by another leaf, and std::vector/RVec of numbers`);
  let layout: Layout;
  let type: ElementType | undefined;
  let counter: string | undefined;
  const leaf = b.fLeaves.arr[0];
  if (b._typename === 'TBranchElement') {
    const m = /^(?:std::)?(?:vector|ROOT::VecOps::RVec|ROOT::RVec)<\s*([\w ]+?)\s*>$/.exec(b.fClassName ?? '');
    type = m ? cppTypes[m[1]!] : undefined;
    if (!type) throw unsupported(`has class '${b.fClassName}'`);
    layout = 'stl-vector';
  } else if (b._typename === 'TBranch' && leaf && b.fLeaves.arr.length === 1) {
    type = leafTypes[leaf._typename]?.[leaf.fIsUnsigned ? 1 : 0];
    if (!type) throw unsupported(`has a leaf of type ${leaf._typename}`);
    if (leaf.fLeafCount) {
      layout = 'counted';
      if (leaf.fLen === 1) counter = leaf.fLeafCount.fName;
    }
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
  return { name: b.fName, layout, type, baskets, ...(counter === undefined ? {} : { counter }) };
}

/**
 * The basket holding `entry`, by bisection over the baskets in entry order: a linear search per
 * window made a pass over a file quadratic in its basket count. Baskets out of order (a damaged
 * file) can only make it miss, never return one that does not hold the entry.
 */
export function basketAt(baskets: readonly BasketRef[], entry: number): BasketRef | undefined {
  let lo = 0;
  let hi = baskets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = baskets[mid]!;
    if (entry < b.entryStart) hi = mid - 1;
    else if (entry >= b.entryStop) lo = mid + 1;
    else return b;
  }
  return undefined;
}
