// For tests that drive CNI plugins: the iptables chains the plugins create and leave behind
// by design (portmap's CNI-HOSTPORT-*, firewall's CNI-FORWARD, …) are removed at the end, with
// the rules that jump to them, when they were not there before the tests.
//
// "Before" is when this module is first loaded, once per test process, not a snapshot per
// file: bun may load a test file while the one before it still has its chains up (they would
// then pass for the host's and stay), and a file's hooks may run after the next file's
// containers have made them again.
const TABLES = ["nat", "filter"] as const;

function chains(table: string): string[] {
  const r = Bun.spawnSync(["iptables", "-t", table, "-S"]);
  return r.exitCode === 0 ? r.stdout.toString().split("\n").filter((l) => l.startsWith("-N ")).map((l) => l.slice(3)) : [];
}

export type ChainSnapshot = Record<(typeof TABLES)[number], string[]>;

export function snapshotChains(): ChainSnapshot {
  return { nat: chains("nat"), filter: chains("filter") };
}

const atLoad = snapshotChains();

/** Removes the chains made since this test process began (or since `before`). */
export function removeNewChains(before: ChainSnapshot = atLoad): void {
  for (const table of TABLES) {
    const fresh = chains(table).filter((c) => !before[table].includes(c));
    if (!fresh.length) continue;
    for (const r of Bun.spawnSync(["iptables", "-t", table, "-S"]).stdout.toString().split("\n"))
      if (r.startsWith("-A ") && fresh.some((c) => r.includes(`-j ${c}`))) Bun.spawnSync(["sh", "-c", `iptables -t ${table} ${r.replace(/^-A /, "-D ")}`]);
    for (const c of fresh) Bun.spawnSync(["iptables", "-t", table, "-F", c]);
    for (const c of fresh) Bun.spawnSync(["iptables", "-t", table, "-X", c]);
  }
}
