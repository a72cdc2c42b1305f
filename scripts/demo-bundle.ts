// Rewrites a bundle's config.json for the demo: the given command, and no terminal unless
// DEMO_TERMINAL=1 (scripts/demo.sh sets it when it runs on a terminal).
//   bun scripts/demo-bundle.ts CONFIG ARG...
import { readFileSync, writeFileSync } from "node:fs";

const [file, ...args] = process.argv.slice(2);
if (!file) throw new Error("usage: demo-bundle.ts CONFIG [ARG...]");
const c = JSON.parse(readFileSync(file, "utf8"));
c.process.terminal = process.env.DEMO_TERMINAL === "1";
if (args.length) c.process.args = args;
else c.process.args = ["sh", "-c", "echo hello from a runjs container: $(hostname), pid $$; uname -r; ls /"];
writeFileSync(file, JSON.stringify(c, null, "\t") + "\n");
