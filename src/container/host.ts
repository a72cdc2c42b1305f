// Facts about the host that a plan depends on, read once per create or exec and handed to
// the compiler (plan/ never reads the host itself): what kind of file a path is, what
// runjs itself may grant, which LSMs are enabled.
import { exists as existsSync, readText, readTextIfExists } from "../sys/fs.ts";
import { close, O_CLOEXEC, O_DIRECTORY, O_PATH, openFile } from "../sys/libc.ts";
import type { LsmFacts } from "../plan/lsm.ts";

/** A bind source or the rootfs: a directory, another kind of file, or nothing yet. */
export function kindOf(p: string): "dir" | "file" | "missing" {
  if (!existsSync(p)) return "missing";
  try {
    close(openFile(p, O_PATH | O_DIRECTORY | O_CLOEXEC));
    return "dir";
  } catch {
    return "file";
  }
}

/** CapBnd of this process: the capabilities it could grant at most. */
export function ownBoundingSet(): bigint | undefined {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readText("/proc/self/status"));
  return m ? BigInt("0x" + m[1]) : undefined;
}

/**
 * Which LSMs are enabled. securityfs lists the active ones when it is mounted; otherwise
 * AppArmor's module parameter and SELinux's own filesystem tell.
 */
export function lsmFacts(): LsmFacts {
  const list = readTextIfExists("/sys/kernel/security/lsm")?.trim().split(",");
  return {
    apparmor: list ? list.includes("apparmor") : (readTextIfExists("/sys/module/apparmor/parameters/enabled") ?? "").startsWith("Y"),
    selinux: list ? list.includes("selinux") : existsSync("/sys/fs/selinux/enforce"),
    apparmorDir: existsSync("/proc/self/attr/apparmor/exec"),
  };
}
