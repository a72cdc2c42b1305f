// Side-by-side start-up benchmark: runjs against runc and crun, in one run, same bundle.
//
//   bun bench/lifecycle.ts [iterations]        (as root; default 30 iterations)
//
// Measures, per runtime, the wall time of
//   run      `RT run ID` of /bin/true in a busybox bundle (attached: create, start, wait, delete)
//   cycle    `RT create ID` + `RT start ID` + `RT delete --force ID` as three separate calls,
//            which is how containerd drives a runtime
//   state    `RT state ID` of a created container (the cheapest call: pure start-up cost)
//   exec     `RT exec ID /bin/true` into a running container (its init sleeps), attached, right
//            after the runtime's own cycle
//   exec-cold the same after 100 ms of quiet: moving a process into a v1 cgroup waits for an
//            RCU grace period unless another move happened just before (the kernel keeps
//            cgroup_threadgroup_rwsem in its slow mode for a while after a writer), so a runtime
//            that is quick to follow its own cgroup writes pays less; cold, every runtime pays
//   parallel 20 `RT run` at once: the wall time until the last one has finished
// and, in the same iterations, the floor under each figure:
//   bun      a compiled Bun program (built as bin/runjs is) that prints one line: Bun's start-up
//   c        the same in C: a C program's start-up
//   kernel   bench/floor.c doing the system calls of run, state and exec for the same bundle,
//            with no runtime around them (the kernel's share; `cycle` makes those of `run`
//            over three processes)
// Runtimes take turns inside each iteration so that machine noise hits all of them alike.
// Prints medians and p90 in milliseconds, and runjs's ratio to each other runtime.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dir, "..");
const N = Number(process.argv[2] ?? 30);
const runtimes: Record<string, string> = { runjs: join(repo, "bin/runjs") };
for (const r of ["runc", "crun"]) {
  const p = Bun.which(r);
  if (p) runtimes[r] = p;
}
// BENCH_ALSO=name=path[,name=path]: more runtimes in the same run (an earlier runjs build, say)
for (const kv of (process.env.BENCH_ALSO ?? "").split(",").filter(Boolean)) {
  const i = kv.indexOf("=");
  runtimes[kv.slice(0, i)] = kv.slice(i + 1);
}

const work = mkdtempSync("/tmp/runjs-bench-");
const bundle = join(work, "bundle");
const mk = Bun.spawnSync(["bash", join(repo, "scripts/demo-bundle.sh"), bundle, "/bin/true"], { stdio: ["ignore", "inherit", "inherit"] });
if (mk.exitCode !== 0) throw new Error("could not make the bundle");
const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
delete cfg.linux.cgroupsPath;
// crun 1.8 refuses ociVersion values newer than it knows; every runtime here reads 1.0.2.
cfg.ociVersion = "1.0.2";
writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));

// stderr goes to a file, not a pipe: a created container holds the runtime's stdio open.
const errFile = join(work, "stderr");
function sh(argv: string[]): number {
  const fd = openSync(errFile, "w");
  const t = Bun.nanoseconds();
  const r = Bun.spawnSync(argv, { cwd: bundle, stdio: ["ignore", "ignore", fd] });
  const dt = (Bun.nanoseconds() - t) / 1e6;
  closeSync(fd);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${readFileSync(errFile, "utf8").trim()}`);
  return dt;
}

// A runtime that cannot run here is reported and left out, not allowed to fail the others.
for (const [name, bin] of Object.entries(runtimes)) {
  try {
    sh([bin, "--root", join(work, `root-${name}`), "run", `probe-${name}`]);
  } catch (e: any) {
    console.error(`${name}: left out: ${e.message}`);
    delete runtimes[name];
  }
}

// For exec: one running container per runtime, from a second bundle whose init sleeps.
const sleeper = join(work, "sleeper");
mkdirSync(sleeper);
writeFileSync(
  join(sleeper, "config.json"),
  JSON.stringify({ ...cfg, root: { ...cfg.root, path: join(bundle, "rootfs") }, process: { ...cfg.process, args: ["sleep", "1000000"] } }),
);
function shIn(dir: string, argv: string[]): void {
  const fd = openSync(errFile, "w");
  const r = Bun.spawnSync(argv, { cwd: dir, stdio: ["ignore", "ignore", fd] });
  closeSync(fd);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${readFileSync(errFile, "utf8").trim()}`);
}
for (const [name, bin] of Object.entries(runtimes)) shIn(sleeper, [bin, "--root", join(work, `root-${name}`), "run", "-d", `sleeper-${name}`]);

// The floor: bench/floor.c built with cc, and a Bun hello built the way bin/runjs is.
const floorBin = join(work, "floor");
const cc = Bun.spawnSync(["cc", "-O2", "-o", floorBin, join(repo, "bench/floor.c")], { stdio: ["ignore", "inherit", "inherit"] });
const hello = join(work, "hello");
writeFileSync(join(work, "hello.ts"), 'console.log("hello");\n');
const bb = Bun.spawnSync(
  [join(repo, "node_modules/.bin/bun"), "build", "--compile", "--minify", "--bytecode", "--format=cjs", join(work, "hello.ts"), "--outfile", hello],
  { stdio: ["ignore", "ignore", "inherit"] },
);
const haveFloor = cc.exitCode === 0 && bb.exitCode === 0;
if (!haveFloor) console.error("floor: left out (cc or bun build failed)");
const floor: Record<string, number[]> = { bun: [], c: [], run: [], state: [], exec: [], "exec-cold": [], parallel: [] };

const times: Record<string, Record<string, number[]>> = {};
for (const name of Object.keys(runtimes)) times[name] = { run: [], cycle: [], state: [], exec: [], "exec-cold": [] };

for (let i = 0; i < N; i++) {
  for (const [name, bin] of Object.entries(runtimes)) {
    const root = ["--root", join(work, `root-${name}`)];
    const id = `b${i}-${name}`;
    times[name]!.run!.push(sh([bin, ...root, "run", id]));
    const c = sh([bin, ...root, "create", id + "c"]);
    times[name]!.state!.push(sh([bin, ...root, "state", id + "c"]));
    const s = sh([bin, ...root, "start", id + "c"]);
    const d = sh([bin, ...root, "delete", "--force", id + "c"]);
    times[name]!.cycle!.push(c + s + d);
    times[name]!.exec!.push(sh([bin, ...root, "exec", `sleeper-${name}`, "/bin/true"]));
    Bun.sleepSync(100);
    times[name]!["exec-cold"]!.push(sh([bin, ...root, "exec", `sleeper-${name}`, "/bin/true"]));
  }
  if (haveFloor) {
    const sleeperPid = String(JSON.parse(readFileSync(join(work, "root-runjs", "sleeper-runjs", "state.json"), "utf8")).pid);
    floor.bun!.push(sh([hello]));
    floor.c!.push(sh([floorBin, "hello"]));
    floor.run!.push(sh([floorBin, "run", join(bundle, "rootfs"), `floor-${process.pid}-${i}`]));
    floor.state!.push(sh([floorBin, "state", join(work, "root-runjs", "sleeper-runjs", "state.json"), sleeperPid]));
    floor.exec!.push(sh([floorBin, "exec", sleeperPid]));
    Bun.sleepSync(100);
    floor["exec-cold"]!.push(sh([floorBin, "exec", sleeperPid]));
  }
}
for (const [name, bin] of Object.entries(runtimes)) shIn(sleeper, [bin, "--root", join(work, `root-${name}`), "delete", "--force", `sleeper-${name}`]);

// parallel: 20 `RT run` started at once, the wall time until the last has finished; a few
// rounds, each runtime in turn
const PAR = 20;
const ROUNDS = Math.max(3, Math.min(10, Math.floor(N / 3)));
/** PAR processes started at once (argv of the k-th): the wall time until the last has ended. */
async function parallel(what: string, argv: (k: number) => string[], cwd?: string): Promise<number> {
  const t = Bun.nanoseconds();
  const codes = await Promise.all(Array.from({ length: PAR }, (_, k) => Bun.spawn(argv(k), { cwd, stdio: ["ignore", "ignore", "ignore"] }).exited));
  const ms = (Bun.nanoseconds() - t) / 1e6;
  if (codes.some((c) => c !== 0)) throw new Error(`${what}: a parallel run failed (exit ${codes.find((c) => c !== 0)})`);
  Bun.sleepSync(100);
  return ms;
}
for (const name of Object.keys(runtimes)) times[name]!.parallel = [];
for (let round = 0; round < ROUNDS; round++)
  for (const [name, bin] of Object.entries(runtimes))
    times[name]!.parallel!.push(await parallel(name, (k) => [bin, "--root", join(work, `root-${name}`), "run", `p${round}-${k}-${name}`], bundle));
if (haveFloor)
  for (let round = 0; round < ROUNDS; round++)
    floor.parallel!.push(await parallel("floor", (k) => [floorBin, "run", join(bundle, "rootfs"), `floor-${process.pid}-p${round}-${k}`]));

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
};
const fmt = (x: number) => x.toFixed(1).padStart(7);
console.log(`${N} iterations, ${new Date().toISOString()}, ${Bun.spawnSync(["uname", "-r"]).stdout.toString().trim()}`);
for (const [name, bin] of Object.entries(runtimes))
  console.log(`  ${name}: ${Bun.spawnSync([bin, "--version"]).stdout.toString().split("\n")[0]}`);
console.log(`\n${"metric".padEnd(10)}${Object.keys(runtimes).map((n) => `${n} p50`.padStart(12) + `p90`.padStart(8)).join("")}   ratios (runjs / other, p50)`);
for (const m of ["run", "cycle", "state", "exec", "exec-cold", "parallel"]) {
  const r = times.runjs?.[m];
  const ratios = Object.keys(runtimes)
    .filter((n) => n !== "runjs" && r)
    .map((n) => `${n} ${(q(r!, 0.5) / q(times[n]![m]!, 0.5)).toFixed(2)}`)
    .join(", ");
  console.log(`${m.padEnd(10)}${Object.keys(runtimes).map((n) => `${fmt(q(times[n]![m]!, 0.5))}     ${fmt(q(times[n]![m]!, 0.9))}`).join("")}   ${ratios}`);
}

// Peak RSS of one `create`: the runtime's own process, by GNU time (%M, KiB); a child forked
// from this Bun process would count the fork's copy of it before the exec. Median of 5.
if (existsSync("/usr/bin/time")) {
  console.log("\npeak RSS of one create (MiB, median of 5; the runtime's process, not its helpers):");
  for (const [name, bin] of Object.entries(runtimes)) {
    const rss: number[] = [];
    for (let k = 0; k < 5; k++) {
      const root = ["--root", join(work, `root-${name}`)];
      // to a file, not a pipe: the created container holds the runtime's stdio open
      const out = join(work, "rss");
      const r = Bun.spawnSync(["/usr/bin/time", "-o", out, "-f", "%M", bin, ...root, "create", `rss${k}-${name}`], { cwd: bundle, stdio: ["ignore", "ignore", "ignore"] });
      const kib = r.exitCode === 0 ? Number(readFileSync(out, "utf8").trim().split("\n").pop()) : 0;
      if (r.exitCode === 0 && kib > 0) rss.push(kib / 1024);
      Bun.spawnSync([bin, ...root, "delete", "--force", `rss${k}-${name}`], { stdio: ["ignore", "ignore", "ignore"] });
    }
    if (rss.length) console.log(`  ${name}: ${q(rss, 0.5).toFixed(1)}`);
  }
  if (haveFloor) {
    const out = join(work, "rss");
    Bun.spawnSync(["/usr/bin/time", "-o", out, "-f", "%M", hello], { stdio: ["ignore", "ignore", "ignore"] });
    console.log(`  (a Bun program that prints one line: ${(Number(readFileSync(out, "utf8").trim()) / 1024).toFixed(1)})`);
  }
}

// The floor table: for each figure, runjs's median, Bun's start-up times the calls it makes,
// the kernel's share (floor.c), and what is left, which is runjs's own; crun beside it.
if (haveFloor && times.runjs) {
  const p50 = (xs: number[]) => q(xs, 0.5);
  const bun = p50(floor.bun!), c = p50(floor.c!);
  console.log(`\nfloor: Bun hello ${bun.toFixed(1)} ms, C hello ${c.toFixed(1)} ms (p50)`);
  console.log("| metric | runjs | Bun start-up | kernel (floor.c) | runjs's remainder | crun | crun's remainder |");
  console.log("|---|---|---|---|---|---|---|");
  const rows: [string, string, number][] = [["run", "run", 1], ["cycle", "run", 3], ["state", "state", 1], ["exec", "exec", 1], ["exec-cold", "exec-cold", 1], ["parallel", "parallel", 20]];
  for (const [m, f, calls] of rows) {
    const r = p50(times.runjs[m]!);
    // the kernel's share: floor.c's time less its own C start-up (the run's C start-up is
    // counted once per call, in Bun's column for runjs and in crun's own remainder)
    const k = m === "parallel" ? p50(floor[f]!) : Math.max(0, p50(floor[f]!) - c);
    const startup = m === "parallel" ? NaN : bun * calls;
    const crun = times.crun?.[m] ? p50(times.crun[m]!) : NaN;
    const rem = m === "parallel" ? r - k : r - startup - k;
    const crem = m === "parallel" ? crun - k : crun - c * calls - k;
    console.log(`| ${m} | ${r.toFixed(1)} | ${m === "parallel" ? "–" : startup.toFixed(1)} | ${k.toFixed(1)} | ${rem.toFixed(1)} | ${crun.toFixed(1)} | ${crem.toFixed(1)} |`);
  }
}
rmSync(work, { recursive: true, force: true });
if (existsSync(work)) console.error(`could not remove ${work}`);
