// process.env as the kernel and programs see it: one value per name.

/**
 * Set each NAME=value of `add` on `base`: a name already there keeps its place and takes the
 * new value, as a later entry overrides an earlier one (runc dedups process.env so, and so do
 * Docker's -e flags over an image's Env).
 */
export function mergeEnv(base: string[], add: string[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const e of [...base, ...add]) {
    const k = e.split("=", 1)[0]!;
    const i = index.get(k);
    if (i === undefined) index.set(k, out.push(e) - 1);
    else out[i] = e;
  }
  return out;
}
