// Help text in the layout runc's command line (urfave/cli) prints, generated from the same
// command and flag tables the parser uses, so a flag cannot exist without its line here:
//
//   NAME:
//      runjs kill - kill sends the specified signal (default: SIGTERM) to the container's init process
//
//   USAGE:
//      runjs kill [command options] <container-id> [signal]
//
//   OPTIONS:
//      --all, -a  send the specified signal to all processes inside the container
//
// The front end (`runjs container …`, `runjs image …`) uses the same layout.
import type { FlagSpec } from "./args.ts";

export interface HelpEntry {
  /** What follows the program's name on the USAGE line, the command's name first. */
  usage: string;
  /** One line: what the command does. */
  help: string;
  /** More text, printed after USAGE. */
  description?: string;
  flags: FlagSpec;
}

function flagName(name: string, short?: string, value?: boolean): string {
  return `--${name}${value ? " value" : ""}${short ? `, -${short}` : ""}`;
}

/** The OPTIONS lines of a flag table, aligned as urfave/cli aligns them. */
export function flagLines(f: FlagSpec): string {
  const rows = Object.entries(f).map(([n, d]) => [flagName(n, d.short, d.value || d.multi), d.help + (d.def ? ` (default: ${JSON.stringify(d.def)})` : "")] as const);
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `   ${a.padEnd(w)}  ${b}\n`).join("");
}

/** The COMMANDS lines of a command table. */
export function commandLines(cmds: Record<string, { help: string; hidden?: boolean }>, extra: [string, string][] = []): string {
  const rows: [string, string][] = [...Object.entries(cmds).filter(([, c]) => !c.hidden).map(([n, c]) => [n, c.help] as [string, string]), ...extra];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `   ${a.padEnd(w)}  ${b}\n`).join("");
}

/** One command's help page. `prog` is what comes before the command: "runjs", "runjs container". */
export function commandHelp(prog: string, name: string, c: HelpEntry, common: FlagSpec = {}): string {
  let s = `NAME:\n   ${prog} ${name} - ${c.help}\n\nUSAGE:\n   ${prog} ${c.usage}\n`;
  if (c.description) s += `\n${c.description.replace(/\n*$/, "\n")}`;
  const all = { ...c.flags, ...common };
  if (Object.keys(all).length) s += `\nOPTIONS:\n${flagLines(all)}`;
  return s;
}

/** The help topic for a name nobody knows: runc's words, which callers and its tests look for. */
export function noTopic(prog: string, name: string): string {
  return `unknown command ${JSON.stringify(name)}: No help topic for '${name}' (see ${prog} --help)`;
}
