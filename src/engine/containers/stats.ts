// `container stats`: what the kernel counts for a container's cgroups (the runtime's
// `events --stats` numbers: memory in use and its limit, CPU time, pids), for the table.
import { containerDirs } from "../../cgroups/hierarchy.ts";
import { stats } from "../../container/events.ts";
import { loadState } from "../../container/state.ts";
import type { ContainerRecord } from "./records.ts";

export interface Sample {
  id: string;
  name: string;
  cpuNs: number;
  memory: number;
  memoryLimit: number;
  pids: number;
}

export function containerStats(runtimeRoot: string, c: ContainerRecord): Sample {
  const st = loadState(runtimeRoot, c.id);
  const s: any = stats(containerDirs(st.cgroupDirs));
  const limit = Number(s.memory?.usage?.limit ?? 0);
  return {
    id: c.id,
    name: c.name,
    cpuNs: Number(s.cpu?.usage?.total ?? 0),
    memory: Number(s.memory?.usage?.usage ?? 0),
    // "no limit" reads as a huge number on v1 and "max" on v2
    memoryLimit: limit > 0 && limit < 2 ** 60 ? limit : 0,
    pids: Number(s.pids?.current ?? 0),
  };
}
