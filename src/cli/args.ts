// A small runc-style argument parser: long flags as --name, --name=value or -name (the
// single-dash long form urfave/cli accepts and scripts written for runc use), short flags
// as -x, values either attached with = or in the next argument.
export interface FlagDef {
  short?: string;
  value?: boolean;
  /** May be given many times; the values collect in a list (implies value). */
  multi?: boolean;
  help: string;
  def?: string;
}
export type FlagSpec = Record<string, FlagDef>;

import { UsageError } from "../errors.ts";

export function parseArgs(
  argv: string[],
  spec: FlagSpec,
  stopAtFirstPositional: boolean,
): { flags: Record<string, string | boolean | string[]>; rest: string[] } {
  const flags: Record<string, string | boolean | string[]> = {};
  for (const [k, d] of Object.entries(spec)) if (d.def !== undefined) flags[k] = d.def;
  const rest: string[] = [];
  const shorts = new Map(Object.entries(spec).flatMap(([k, d]) => (d.short ? [[d.short, k] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (stopAtFirstPositional) {
        rest.push(...argv.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const key = eq < 0 ? body : body.slice(0, eq);
    const name = Object.hasOwn(spec, key) ? key : a.startsWith("--") ? undefined : shorts.get(key);
    // -it: several one-letter switches together (only when each is a switch and there is no =)
    if (!name && !a.startsWith("--") && eq < 0 && key.length > 1 && [...key].every((c) => shorts.has(c) && !spec[shorts.get(c)!]!.value)) {
      for (const c of key) flags[shorts.get(c)!] = true;
      continue;
    }
    if (!name) throw new UsageError(`flag provided but not defined: ${a.split("=")[0]}`);
    const d = spec[name]!;
    if (d.multi) {
      if (eq < 0 && i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${a}`);
      const v = eq >= 0 ? body.slice(eq + 1) : argv[++i]!;
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), v];
      continue;
    }
    if (!d.value) {
      if (eq >= 0) flags[name] = !/^(false|0)$/.test(body.slice(eq + 1));
      else flags[name] = true;
      continue;
    }
    if (eq >= 0) flags[name] = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${a}`);
      flags[name] = argv[++i]!;
    }
  }
  return { flags, rest };
}
