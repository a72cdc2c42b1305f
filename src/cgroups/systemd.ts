// The systemd cgroup driver (--systemd-cgroup): systemd owns the host's cgroup tree, so the
// container's cgroup is a transient unit that systemd makes, and runjs only asks. A second
// table of the operations in driver.ts; the verbs do not know which one they hold.
//
//   plan      the unit from linux.cgroupsPath "slice:prefix:name" (systemd-units.ts) and its
//             directory in each hierarchy, below the manager's own cgroup (PID 1's is /, a
//             user manager's is user@UID.service)
//   check     a unit of that name may not be running (a failed or dead one is reset)
//   join      StartTransientUnit(name, "replace", properties incl. PIDs=[init], and the
//             device rules as DevicePolicy/DeviceAllow) and the wait
//             for its job's JobRemoved signal; then what systemd did not make (v1 hierarchies
//             it does not manage) is made, the init is put in every directory, and every
//             resource is written to the files (runc's way: systemd expresses only some)
//   update    SetUnitProperties(runtime) with what systemd expresses, then the files
//   remove    StopUnit and its job, ResetFailedUnit; then any directory runjs made itself
// Freezing, listing processes, exec's join and statistics work on the directories, as with
// cgroupfs.
import { UsageError } from "../errors.ts";
import { exists, readTextIfExists } from "../sys/fs.ts";
import { Bus, DbusError, SYSTEMD } from "../sys/sdbus.ts";
import type { CgroupDriver } from "./driver.ts";
import { freezerDir, isFrozen, setFrozen, thawNoWait } from "./freezer.ts";
import { type CgroupDir, containerDirs, hostHierarchies, modeOf } from "./hierarchy.ts";
import { cgroupPids, checkVacant, createCgroups, execCgroupDirs, joinCgroups, joinExecCgroups, parseSubCgroups, removeCgroups } from "./manager.ts";
import { applyResources } from "./resources.ts";
import { deviceProperties, parseProcDevices, resourceProperties, systemdUnit, unitProperties } from "./systemd-units.ts";

/** How long a unit's start or stop job may take before runjs gives up on it. */
const JOB_MS = 30_000;

/** The unit whose cgroup a directory is: its last component. */
const unitOf = (dir: string) => dir.slice(dir.lastIndexOf("/") + 1);

/** A driver talking to the manager of whoever runs runjs; it connects on first use. */
export function systemdDriver(o: { id?: string; annotations?: Record<string, string> } = {}): CgroupDriver {
  const rootless = (process.geteuid?.() ?? 0) !== 0;
  let bus: Bus | undefined;
  const conn = () => {
    try {
      return (bus ??= Bus.connect(rootless));
    } catch (e) {
      if (e instanceof DbusError && e.method === "connect") throw new UsageError(`--systemd-cgroup: ${e.detail}`);
      throw e;
    }
  };
  /** The manager's own cgroup: "" for PID 1, /user.slice/user-1000.slice/user@1000.service for a user's. */
  const base = () => {
    const b = conn(); // before anything is made: a host without systemd fails here
    return rootless ? (b.property(SYSTEMD.path, SYSTEMD.manager, "ControlGroup", "s") as string).replace(/\/$/, "") : "";
  };
  const version = (dirs: CgroupDir[]): 1 | 2 => (dirs.some((d) => d.version === 1) ? 1 : 2);

  const jobOf = (what: string, unit: string, job: string) => {
    const result = conn().waitJob(job, JOB_MS);
    if (result !== "done") throw new DbusError(what, `unit ${unit}: the job ended "${result}"${result === "timeout" ? ` (after ${JOB_MS / 1000} s)` : ""}`);
  };

  const driver: CgroupDriver = {
    name: "systemd",
    plan(cgroupsPath, id) {
      const u = systemdUnit(cgroupsPath, id, rootless);
      const hs = hostHierarchies();
      // a user manager is delegated a v2 subtree only; v1 hierarchies stay root's (runc refuses alike)
      if (rootless && modeOf(hs) !== "unified")
        throw new UsageError("--systemd-cgroup: a rootless container needs a host on cgroup v2 alone: this host's controllers are on v1 hierarchies, which systemd delegates to no user");
      const path = base() + u.path;
      return hs.map((h) => ({ h, dir: `${h.mountpoint}${path}` }));
    },
    checkVacant(targets) {
      const unit = targets[0] && unitOf(targets[0].dir);
      if (!unit) return;
      let state: string;
      try {
        const [path] = conn().manager("GetUnit", [["s", unit]], "o") as [string];
        state = conn().property(path, "org.freedesktop.systemd1.Unit", "ActiveState", "s") as string;
      } catch (e) {
        if (!(e instanceof DbusError && e.errorName === "org.freedesktop.systemd1.NoSuchUnit")) throw e;
        return checkVacant(targets);
      }
      if (state === "active" || state === "activating" || state === "reloading" || state === "deactivating")
        throw new UsageError(`linux.cgroupsPath: the unit ${unit} exists already (${state}): another container has this cgroup`);
      try {
        conn().manager("ResetFailedUnit", [["s", unit]]);
      } catch {
        /* inactive, not failed: nothing to reset */
      }
      // and what cgroupfs checks: nothing running in, nothing frozen (a directory left behind)
      checkVacant(targets);
    },
    // systemd makes the directories when the unit starts, and the unit needs the init's pid
    create: () => new Set(),
    apply(r, dirs, warn, created) {
      // at create, before the init exists, there is no unit yet: join applies the resources
      if (created !== undefined) return;
      const unit = dirs[0] && unitOf(dirs[0].dir);
      const props = [...resourceProperties(r, version(dirs)), ...deviceProperties(r?.devices, deviceNames(), warn)];
      if (unit && props.length) conn().manager("SetUnitProperties", [["s", unit], ["b", true], ["a(sv)", props]]);
      applyResources(r, dirs, warn);
    },
    join(dirs, pid, r, warn) {
      const described = dirs.map((d) => ({ d, h: hostHierarchies().find((h) => d.startsWith(h.mountpoint + "/")) }));
      const unit = unitOf(dirs[0] ?? "");
      if (!unit) return;
      const cgdirs = containerDirs(dirs);
      const props = unitProperties({
        id: o.id ?? unit,
        unit: { slice: sliceOf(dirs[0]!), unit },
        pid,
        version: version(cgdirs),
        resources: r,
        annotations: o.annotations,
        deviceNames: r?.devices?.length ? deviceNames() : undefined,
        warn,
      });
      let job: string;
      try {
        [job] = conn().manager("StartTransientUnit", [["s", unit], ["s", "replace"], ["a(sv)", props], ["a(sa(sv))", []]], "o") as [string];
      } catch (e) {
        if (e instanceof DbusError && e.errorName === "org.freedesktop.systemd1.UnitExists")
          throw new UsageError(`linux.cgroupsPath: the unit ${unit} exists already: another container has this cgroup`);
        throw e;
      }
      jobOf("StartTransientUnit", unit, job);
      // hierarchies systemd does not manage (v1 cpuset, freezer, net_cls …) are runjs's to
      // make, as cgroupfs makes them (a v1 cpuset copies its parent's cpus and mems)
      createCgroups(described.flatMap(({ d, h }) => (h && !exists(d) ? [{ h, dir: d }] : [])));
      joinCgroups(dirs, pid);
      if (r && warn) applyResources(r, cgdirs, warn);
    },
    execTargets: (dirs, sub) => execCgroupDirs(dirs, parseSubCgroups(sub)),
    joinExec(dirs, targets, pid, initPid) {
      try {
        joinExecCgroups(dirs, targets, pid, initPid);
      } catch (e: any) {
        // A user's process outside its manager's subtree (a rootless exec from a login
        // session) cannot move itself in: the common ancestor is root's. Its manager can, by
        // asking PID 1 (AttachProcessesToUnit), as it did for the init at create.
        const unitDir = dirs.find((d) => d.version === 2)?.dir;
        const target = targets[dirs.findIndex((d) => d.version === 2)];
        if (!(e.code === "EACCES" || e.code === "EPERM") || !unitDir || !target) throw e;
        conn().manager("AttachProcessesToUnit", [["s", unitOf(unitDir)], ["s", target.slice(unitDir.length) || "/"], ["au", [pid]]]);
      }
    },
    pids: cgroupPids,
    freezer: freezerDir,
    frozen: isFrozen,
    setFrozen,
    thaw: thawNoWait,
    remove(created, leaves) {
      const unit = leaves[0] && unitOf(leaves[0]);
      if (unit && (unit.endsWith(".scope") || unit.endsWith(".slice"))) {
        let job: string | undefined;
        try {
          [job] = conn().manager("StopUnit", [["s", unit], ["s", "replace"]], "o") as [string];
        } catch (e) {
          // never started (create failed before), or gone with its last process
          const gone = ["org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.InvalidArgs"];
          if (!(e instanceof DbusError && gone.includes(e.errorName ?? ""))) throw e;
        }
        if (job) jobOf("StopUnit", unit, job);
        try {
          conn().manager("ResetFailedUnit", [["s", unit]]);
        } catch {
          /* not failed, or not loaded any more */
        }
      }
      // systemd removed the unit's directories; what is left is runjs's own (v1 hierarchies
      // systemd does not manage, made in join)
      removeCgroups(created.filter(exists), leaves.filter(exists));
    },
  };
  return driver;
}

const deviceNames = () => parseProcDevices(readTextIfExists("/proc/devices") ?? "");

/** The slice a unit's directory sits in: its parent's last component ("-.slice" at the top). */
function sliceOf(dir: string): string {
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  const name = parent.slice(parent.lastIndexOf("/") + 1);
  return name.endsWith(".slice") ? name : "-.slice";
}

