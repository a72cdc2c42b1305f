// Time unpackLayer on one layer file: N runs, each into a fresh directory under /tmp, and
// print each run and the median in milliseconds (the directory is removed between runs, and
// the page cache is left warm, so the first run also pays for reading the blob from disk).
//
//   bun bench/unpack.ts LAYER [N]        (TMPDIR=/dev/shm to leave the disk out of it)
import { mkdtempSync, rmSync } from "node:fs";
import { unpackLayer } from "../src/engine/images/unpack.ts";

const [layer, nArg] = process.argv.slice(2);
if (!layer) {
  console.error("usage: bun bench/unpack.ts LAYER [N]");
  process.exit(2);
}
const n = Math.max(1, Number(nArg ?? 5));
const times: number[] = [];
for (let i = 0; i < n; i++) {
  const dest = mkdtempSync(`${process.env.TMPDIR || "/tmp"}/unpack-bench-`);
  try {
    const t0 = performance.now();
    const s = await unpackLayer(layer, dest);
    const ms = performance.now() - t0;
    times.push(ms);
    console.log(`run ${i + 1}: ${ms.toFixed(0)} ms, ${s.entries} entries, ${(s.bytes / 1e6).toFixed(1)} MB, ${s.diffId}`);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}
times.sort((a, b) => a - b);
const mid = times.length >> 1;
const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
console.log(`median: ${median.toFixed(0)} ms over ${n} runs`);
