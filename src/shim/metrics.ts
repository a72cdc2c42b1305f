// Stats for containerd: the container's cgroup counters (cgroups/stats.ts, as `runjs events
// --stats` reads them) in containerd/cgroups' Metrics message, v1 or v2 by where the memory
// controller is, packed in an Any under the type URL containerd registers for it.
import type { CgroupDir } from "../cgroups/resources.ts";
import { stats } from "../container/events.ts";
import { Metrics as V1 } from "./gen/containerd/cgroups_metrics.ts";
import { Metrics as V2 } from "./gen/containerd/cgroups_metrics_v2.ts";
import type { Any } from "./gen/google/protobuf/any.ts";
import { encode } from "./proto.ts";

const big = (n: unknown) => BigInt(Math.max(0, Math.trunc(Number(n ?? 0))));

export function metrics(dirs: CgroupDir[]): Any {
  const s = stats(dirs) as any;
  const raw: Record<string, number> = s.memory?.raw ?? {};
  if (dirs.some((d) => d.version === 1)) {
    const value = encode(V1, {
      cpu: {
        usage: { total: big(s.cpu?.usage?.total), kernel: big(s.cpu?.usage?.kernel), user: big(s.cpu?.usage?.user), perCpu: (s.cpu?.usage?.percpu ?? []).map(big) },
        throttling: { periods: big(s.cpu?.throttling?.periods), throttledPeriods: big(s.cpu?.throttling?.throttled_periods), throttledTime: big(s.cpu?.throttling?.throttled_time) },
      },
      memory: s.memory && {
        cache: big(raw.cache), rss: big(raw.rss), inactiveFile: big(raw.inactive_file), activeFile: big(raw.active_file),
        totalCache: big(raw.total_cache), totalRss: big(raw.total_rss), totalInactiveFile: big(raw.total_inactive_file), totalActiveFile: big(raw.total_active_file),
        usage: { usage: big(s.memory.usage?.usage), max: big(s.memory.usage?.max), limit: big(s.memory.usage?.limit), failcnt: big(s.memory.usage?.failcnt) },
        swap: { usage: big(s.memory.swap?.usage), max: big(s.memory.swap?.max), limit: big(s.memory.swap?.limit), failcnt: big(s.memory.swap?.failcnt) },
      },
      pids: s.pids && { current: big(s.pids.current), limit: big(s.pids.limit) },
    });
    return { typeUrl: "io.containerd.cgroups.v1.Metrics", value };
  }
  const us = (ns: unknown) => big(Number(ns ?? 0) / 1000);
  const value = encode(V2, {
    cpu: {
      usageUsec: us(s.cpu?.usage?.total), userUsec: us(s.cpu?.usage?.user), systemUsec: us(s.cpu?.usage?.kernel),
      nrPeriods: big(s.cpu?.throttling?.periods), nrThrottled: big(s.cpu?.throttling?.throttled_periods), throttledUsec: us(s.cpu?.throttling?.throttled_time),
    },
    memory: s.memory && {
      anon: big(raw.anon), file: big(raw.file), inactiveFile: big(raw.inactive_file), activeFile: big(raw.active_file),
      usage: big(s.memory.usage?.usage), usageLimit: big(s.memory.usage?.limit), swapUsage: big(s.memory.swap?.usage), swapLimit: big(s.memory.swap?.limit),
    },
    pids: s.pids && { current: big(s.pids.current), limit: big(s.pids.limit) },
  });
  return { typeUrl: "io.containerd.cgroups.v2.Metrics", value };
}
