import { closeSync, openSync, readSync } from 'node:fs';
import { loadCatalogue } from '../core/catalogue.js';
import { decompressBlocks } from '../core/root/decompress.js';
import { inflateEngine } from '../core/root/inflate-into.js';
import { RootTree } from '../core/root/tree.js';

/**
 * The limit of a chunk's path: how fast this process's inflate engine alone decompresses the baskets
 * the analysis reads from FILE (a simulated sample's branches, and the counters of counted ones), in
 * the order a chunk reads them, into one reused buffer, as far as a chunk inflates them: a jagged
 * basket up to the end of its data (RootTree.dataOnly; the large input's baskets are aligned, so a
 * chunk always can). Reading them from disk is left out of the time. Prints one JSON line: the
 * seconds of each repetition (wall, and the CPU seconds of inflating, which a loaded machine
 * disturbs less), the file's events, the engine's name, the baskets inflated and how many of them
 * only up to their data's end.
 * Usage: node dist/bench/inflate-alone.js REPS FILE
 */
const [reps, file] = process.argv.slice(2) as [string, string];
const cat = loadCatalogue();
// The catalogue's branches, in its order: the leptons', then the weight and its factors.
const needed = Object.values(cat.branches).flat();
const tree = await RootTree.open(file, cat.tree);
const engine = inflateEngine();
const fd = openSync(file, 'r');
let raw = Buffer.alloc(0);
let out = new Uint8Array(0);
const seconds: number[] = [];
const cpuSeconds: number[] = [];
let baskets = 0;
let dataOnlyBaskets = 0;
const threadCpu = (): number => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1e6;
};
for (let rep = 0; rep < Number(reps); rep++) {
  let spent = 0;
  let cpu = 0;
  for (const branch of tree.branchesRead(needed)) {
    const dataOnly = tree.dataOnly(branch);
    for (const { seek, bytes } of branch.baskets) {
      // A basket kept inside the TTree record was inflated with it, at open.
      if (seek === undefined || bytes === undefined) continue;
      if (rep === 0) {
        baskets++;
        if (dataOnly) dataOnlyBaskets++;
      }
      if (raw.length < bytes) raw = Buffer.alloc(2 * bytes);
      readSync(fd, raw, 0, bytes, seek);
      const objlen = raw.readInt32BE(6);
      const keylen = raw.readInt16BE(14);
      const last = raw.readInt32BE(keylen - 5);
      if (out.length <= objlen) out = new Uint8Array(2 * objlen);
      const started = performance.now();
      const startedCpu = threadCpu();
      await decompressBlocks(raw.subarray(keylen, bytes), out, objlen, `${file}: ${branch.name} basket at byte ${seek}`, engine, dataOnly ? last - keylen : objlen);
      spent += performance.now() - started;
      cpu += threadCpu() - startedCpu;
    }
  }
  seconds.push(spent / 1000);
  cpuSeconds.push(cpu);
}
closeSync(fd);
process.stdout.write(JSON.stringify({ seconds, cpuSeconds, events: tree.entries, engine: engine.name, baskets, dataOnlyBaskets }) + '\n');
