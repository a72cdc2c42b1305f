// Volumes, Docker's way. A -v SRC:DST bind mount needs SRC to exist on the host; a -v NAME:DST
// named volume is a directory of the store's (STORE/volumes/NAME/_data), made on first use
// with what the image has at DST, and found by later containers as the earlier ones left it;
// each of the image's Volumes that no -v covers gets an anonymous volume, removed with the
// container. The mounts themselves are the bundle's (spec.ts).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../errors.ts";
import type { Store } from "../images/store.ts";
import { parseVolume, type Volume } from "./spec.ts";

/** A named volume's data directory. */
export function volumePath(store: Store, name: string): string {
  return join(store.root, "volumes", name, "_data");
}

/** Before anything is made: every bind source exists. */
export function checkVolumes(volumes: Volume[]): void {
  for (const v of volumes)
    if (!v.named && !existsSync(v.source)) throw new UsageError(`--volume ${v.given}: ${v.source} does not exist on the host`);
}

/**
 * The image's Volumes (its config's "Volumes" keys) that no -v covers, each as an anonymous
 * named volume `<id prefix>-anon-<n>`.
 */
export function anonymousVolumes(imageVolumes: Record<string, unknown> | undefined, given: Volume[], id: string): Volume[] {
  const covered = new Set(given.map((v) => v.destination.replace(/\/+$/, "")));
  return Object.keys(imageVolumes ?? {})
    .map((p) => p.replace(/\/+$/, ""))
    .filter((p) => p.startsWith("/") && !covered.has(p))
    .map((p, i) => parseVolume(`${id.slice(0, 16)}-anon-${i}:${p}`));
}

/**
 * Make each named volume that does not exist yet, filled from the container's rootfs; one
 * that exists but is empty (made by `volume create`) is filled the same way, as Docker does.
 */
export function fillNamedVolumes(store: Store, rootfs: string, volumes: Volume[]): void {
  for (const vol of volumes.filter((v) => v.named)) {
    const data = volumePath(store, vol.source);
    if (existsSync(data)) {
      const from = join(rootfs, vol.destination);
      if (!readdirSync(data).length && existsSync(from)) Bun.spawnSync(["cp", "-a", `${from}/.`, data]);
      continue;
    }
    const tmp = store.tmpPath("volume");
    mkdirSync(tmp, { recursive: true });
    const from = join(rootfs, vol.destination);
    if (existsSync(from)) Bun.spawnSync(["cp", "-a", `${from}/.`, tmp]);
    mkdirSync(join(store.root, "volumes", vol.source), { recursive: true });
    try {
      renameSync(tmp, data);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // made by another container meanwhile
    }
  }
}

export function removeVolumes(store: Store, names: string[]): void {
  for (const v of names) rmSync(join(store.root, "volumes", v), { recursive: true, force: true });
}
