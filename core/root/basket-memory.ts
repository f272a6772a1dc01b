/**
 * The memory one branch's baskets are decoded into, reused from basket to basket. A reader holds one
 * basket per branch at a time, so once the largest basket has been seen a worker allocates nothing
 * more per basket. Dead per-basket buffers are what V8 collects late (it lets tens of megabytes of
 * such external memory pile up), so reusing them is what keeps a worker's peak memory flat in the
 * amount it reads.
 */
export class BasketMemory {
  private readonly u8 = { data: new Uint8Array(0), packed: new Uint8Array(0) };
  private readonly i32 = { entryOffsets: new Int32Array(0), offsets: new Int32Array(0), sums: new Int32Array(0), starts: new Int32Array(0) };

  /**
   * At least `n` bytes plus one spare (the room inflateInto needs to see a stream end), starting
   * 8-byte aligned so that any element type can be viewed in place.
   */
  bytes(role: 'data' | 'packed', n: number): Uint8Array {
    if (this.u8[role].length <= n) this.u8[role] = new Uint8Array(grown(n + 1));
    return this.u8[role];
  }

  /** Exactly `n` 32-bit integers. */
  int32(role: 'entryOffsets' | 'offsets' | 'sums' | 'starts', n: number): Int32Array {
    if (this.i32[role].length < n) this.i32[role] = new Int32Array(grown(n));
    return this.i32[role].subarray(0, n);
  }
}

// Baskets of one branch differ a little in size: headroom spares a reallocation for each larger one.
const grown = (n: number): number => n + (n >> 3);
