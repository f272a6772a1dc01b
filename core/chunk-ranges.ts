/**
 * A set of chunk indices as text, the way a Kubernetes Indexed Job's status.completedIndexes writes
 * its own: ascending ranges, "0-3,5,7-9". Chunks start lowest index first and finish in roughly that
 * order, so the set of succeeded chunks is a handful of ranges whatever the chunk count: its gaps are
 * the chunks running or failed, not the chunks done.
 */
export function formatRanges(indices: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length;) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(j === i ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The indices below `total` that `text` names; undefined when it is not such a list. */
export function parseRanges(text: string, total: number): Set<number> | undefined {
  const set = new Set<number>();
  if (text === '') return set;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (from > to || to >= total) return undefined;
    for (let i = from; i <= to; i++) set.add(i);
  }
  return set;
}
