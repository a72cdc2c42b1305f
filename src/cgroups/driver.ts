// The cgroup driver: everything the runtime's verbs ask of whatever manages a container's
// cgroups, as one table of operations (crun keeps one such table per manager, runc one
// interface). cgroupfs (here): runjs makes, writes and removes the directories itself, on
// cgroup v1, v2 and hybrid hosts alike (each directory carries its hierarchy's version, and
// the writers choose by it). systemd (systemd.ts, --systemd-cgroup): systemd makes a transient
// unit per container and its directories; runjs asks over D-Bus. driverFor picks the one a
// container was created with; no verb knows which it holds.
//
// Statistics (events, stats) are not here: whichever driver made them, the numbers are read
// from the same cgroup files (cgroups/stats.ts).
import type { LinuxResources } from "../oci/spec.ts";
import { freezerDir, isFrozen, setFrozen, thawNoWait } from "./freezer.ts";
import type { CgroupDir } from "./hierarchy.ts";
import {
  type CgroupTarget,
  cgroupPids,
  checkVacant,
  createCgroups,
  execCgroupDirs,
  joinCgroups,
  joinExecCgroups,
  parseSubCgroups,
  plannedDirs,
  removeCgroups,
} from "./manager.ts";
import { applyResources } from "./resources.ts";
import type { Warn } from "./files.ts";

export type { CgroupTarget };

export interface CgroupDriver {
  readonly name: "cgroupfs" | "systemd";
  /** The container's directory in every hierarchy, from linux.cgroupsPath (absent: /<id>). */
  plan(cgroupsPath: string | undefined, id: string): CgroupTarget[];
  /** Refuse cgroups that already hold processes or are frozen (runc 1.2's rule). */
  checkVacant(targets: CgroupTarget[]): void;
  /** Make the directories; returns the ones made here (controllers are enabled only there). */
  create(targets: CgroupTarget[]): Set<string>;
  /**
   * Write linux.resources: at create (before the init exists) with what create made, at
   * update with nothing. A driver that can place a container only with its init (systemd)
   * applies create's resources in join instead.
   */
  apply(r: LinuxResources | undefined, dirs: CgroupDir[], warn: Warn, created?: ReadonlySet<string>): void;
  /** Put the container's init in its cgroups (and, for systemd, start its unit with r). */
  join(dirs: string[], pid: number, r?: LinuxResources, warn?: Warn): void;
  /** Where an exec'd process goes: the container's cgroups or, with --cgroup, below them. */
  execTargets(dirs: CgroupDir[], subCgroups: string[]): string[];
  /** Put an exec'd process there (on v2, into the init's own cgroup when the container's is an inner node). */
  joinExec(dirs: CgroupDir[], targets: string[], pid: number, initPid: number | undefined): void;
  /** Every process in the container's cgroups, sub-cgroups included. */
  pids(dirs: string[]): number[];
  /** The directory whose freezer stops the container, if the host has one. */
  freezer(dirs: CgroupDir[]): CgroupDir | undefined;
  frozen(d: CgroupDir): boolean;
  /** Freeze or thaw, waiting until the kernel says it is done. */
  setFrozen(d: CgroupDir, frozen: boolean): void;
  /** Thaw without waiting (killed tasks act on SIGKILL only once thawed). */
  thaw(d: CgroupDir): void;
  /** Remove the container's directories (its own, whoever made them) and the parents it made. */
  remove(created: string[], leaves: string[]): void;
}

export const cgroupfs: CgroupDriver = {
  name: "cgroupfs",
  plan: (cgroupsPath, id) => plannedDirs(cgroupsPath, id),
  checkVacant,
  create: createCgroups,
  apply: applyResources,
  join: (dirs, pid) => joinCgroups(dirs, pid),
  execTargets: (dirs, sub) => execCgroupDirs(dirs, parseSubCgroups(sub)),
  joinExec: joinExecCgroups,
  pids: cgroupPids,
  freezer: freezerDir,
  frozen: isFrozen,
  setFrozen,
  thaw: thawNoWait,
  remove: removeCgroups,
};

export type DriverName = CgroupDriver["name"];

/**
 * The driver a container was created with (its state's cgroupDriver), or the one create was
 * asked for.
 */
export function driverFor(st?: { cgroupDriver?: DriverName }, o: { id?: string; annotations?: Record<string, string> } = {}): CgroupDriver {
  if (st?.cgroupDriver !== "systemd") return cgroupfs;
  // loaded here, synchronously, and only here: a cgroupfs host never evaluates the systemd
  // driver, its unit properties or sd-bus (a static import cost every verb ~1.3 ms)
  const { systemdDriver } = require("./systemd.ts") as typeof import("./systemd.ts");
  return systemdDriver(o);
}
