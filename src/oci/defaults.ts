// The config.json that `runjs spec` writes: a small, safe starting point in the spirit of
// `runc spec`. It runs `sh` as root on a read-only "rootfs" with a terminal, the three
// capabilities a plain shell needs, new pid/network/ipc/uts/mount namespaces, a tmpfs /dev, and
// the usual kernel interfaces masked or read-only. It is runc's own default (1.2 and later), but
// for the hostname: tests and tutorials written for runc edit it with the same jq lines.
//
// The rootless variant is for a caller without privileges: the container gets a user namespace
// mapping container root to the caller's own uid/gid (one id each, all an unprivileged user
// may map), keeps the host network (creating interfaces needs privileges outside the
// namespace), bind-mounts the host's /sys read-only (sysfs cannot be mounted by a user
// namespace that does not own the network namespace), and drops what would fail without
// privileges: the cgroup mount, uid=/gid= mount options naming ids that are not mapped (gid=5
// on /dev/pts), and cgroup resources.

import { OCI_VERSION, type LinuxNamespace, type Mount, type Spec } from "./spec.ts";

export interface DefaultSpecOptions {
  rootless?: boolean;
  /** Host uid to map to container root when rootless. Default: the effective uid. */
  uid?: number;
  /** Host gid to map to container root when rootless. Default: the effective gid. */
  gid?: number;
}

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

const NOSUID_NOEXEC_NODEV = ["nosuid", "noexec", "nodev"];

function defaultMounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc" },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: [...NOSUID_NOEXEC_NODEV, "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: [...NOSUID_NOEXEC_NODEV] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: [...NOSUID_NOEXEC_NODEV, "ro"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: [...NOSUID_NOEXEC_NODEV, "relatime", "ro"],
    },
  ];
}

// Files in /proc and /sys that leak host information or offer host-wide knobs.
const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];

const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runjs",
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: (["pid", "network", "ipc", "uts", "mount"] as const).map((type) => ({ type })),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (opts.rootless) makeRootless(spec, opts.uid ?? process.geteuid?.() ?? 0, opts.gid ?? process.getegid?.() ?? 0);
  return spec;
}

function makeRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux!;
  const namespaces: LinuxNamespace[] = linux.namespaces!.filter((ns) => ns.type !== "network" && ns.type !== "user");
  namespaces.push({ type: "user" });
  linux.namespaces = namespaces;
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  delete linux.resources;

  const mounts: Mount[] = [];
  for (const m of spec.mounts!) {
    if (m.destination === "/sys/fs/cgroup" && m.type === "cgroup") continue;
    if (m.destination === "/sys") {
      mounts.push({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", ...NOSUID_NOEXEC_NODEV, "ro"] });
      continue;
    }
    if (m.options) m.options = m.options.filter((o) => !o.startsWith("uid=") && !o.startsWith("gid="));
    mounts.push(m);
  }
  spec.mounts = mounts;
}
