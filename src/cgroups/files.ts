// Small file helpers shared by the cgroup v1 and v2 writers: every write names the spec
// field it comes from, so an error says which part of linux.resources the kernel refused.
import { exists, readText, writeExisting } from "../sys/fs.ts";
import { CgroupError, NotSupportedError } from "../errors.ts";

export type { CgroupDir } from "./hierarchy.ts";

export type Warn = (m: string) => void;

/** Write one value to a cgroup file; a missing file is "not available on this host". */
export function put(dir: string, file: string, value: string, field: string): void {
  const p = `${dir}/${file}`;
  if (!exists(p)) throw new NotSupportedError(`linux.resources.${field}: ${file} is not available on this host`);
  try {
    writeExisting(p, value);
  } catch (e: any) {
    throw new CgroupError(p, value, `linux.resources.${field}: ${e.message}`, e.code);
  }
}

export function has(dir: string, file: string): boolean {
  return exists(`${dir}/${file}`);
}

export function read(dir: string, file: string): string {
  return readText(`${dir}/${file}`).trim();
}

export function unavailable(field: string, controller: string, why = "is not available on this host"): NotSupportedError {
  return new NotSupportedError(`linux.resources.${field}: the ${controller} controller ${why}`);
}
