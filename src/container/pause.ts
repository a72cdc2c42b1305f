// pause and resume: freeze every process of the container in place, and let them go on.
//
// The kernel does the work (see cgroups/freezer.ts): the container's processes stop being
// scheduled, keep their memory and open files, and cannot notice. `state` then reports
// "paused", computed from the freezer itself, never from a saved flag.
import { StateError } from "../errors.ts";
import { containerDirs } from "../cgroups/hierarchy.ts";
import { driverFor } from "../cgroups/driver.ts";
import { withContainer } from "./state.ts";

export function pause(root: string, id: string): void {
  withContainer(root, id, (c) => {
    if (c.status !== "running" && c.status !== "created") throw new StateError(id, "container not running", "not-running");
    const cgroups = driverFor(c.st);
    const d = cgroups.freezer(containerDirs(c.st.cgroupDirs));
    if (!d) throw new StateError(id, "no freezer cgroup for this container", "failed");
    cgroups.setFrozen(d, true);
  });
}

export function resume(root: string, id: string): void {
  withContainer(root, id, (c) => {
    if (c.status !== "paused") throw new StateError(id, "container not paused", "wrong-state");
    const cgroups = driverFor(c.st);
    const d = cgroups.freezer(containerDirs(c.st.cgroupDirs));
    if (!d) throw new StateError(id, "no freezer cgroup for this container", "failed");
    cgroups.setFrozen(d, false);
  });
}
