// For tests that drive CNI plugins: what the bridge network leaves on the host by design,
// the iptables chains the plugins create (portmap's CNI-HOSTPORT-*, firewall's CNI-FORWARD,
// …) with the rules that jump to them and runjs's default bridge device runjs0, is removed at
// the end when it was not there before the tests.
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

const hasBridge = () => Bun.spawnSync(["ip", "link", "show", "runjs0"]).exitCode === 0;
const atLoad = { chains: { nat: chains("nat"), filter: chains("filter") }, bridge: hasBridge() };

/** Removes the chains, and the runjs0 bridge, made since this test process began. */
export function removeNetworkLeftovers(): void {
  if (!atLoad.bridge && hasBridge()) Bun.spawnSync(["ip", "link", "del", "runjs0"]);
  for (const table of TABLES) {
    const fresh = chains(table).filter((c) => !atLoad.chains[table].includes(c));
    if (!fresh.length) continue;
    for (const r of Bun.spawnSync(["iptables", "-t", table, "-S"]).stdout.toString().split("\n"))
      if (r.startsWith("-A ") && fresh.some((c) => r.includes(`-j ${c}`))) Bun.spawnSync(["sh", "-c", `iptables -t ${table} ${r.replace(/^-A /, "-D ")}`]);
    for (const c of fresh) Bun.spawnSync(["iptables", "-t", table, "-F", c]);
    for (const c of fresh) Bun.spawnSync(["iptables", "-t", table, "-X", c]);
  }
}
