// Choosing the image for this machine from a multi-platform image.
//
// An OCI image index (or a Docker manifest list) names one manifest per platform
// {os, architecture, variant}. Platforms are compared after containerd's normalisation
// (x86_64 → amd64, aarch64 → arm64, arm64's variant v8 is the default and dropped, plain
// arm means arm/v7, amd64's v1 is the default and dropped), and a machine accepts, best
// first: its own platform, then the older variants it can also run (amd64/v3 → v2 → v1,
// arm/v7 → v6 → v5, arm64 → arm/v8 … v5), then for amd64 the 32-bit 386. The first
// entry in that order that the index has is chosen; if none fits, the error lists what
// the index offers.
import { ImageError } from "./store.ts";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { "os.version"?: string; "os.features"?: string[] };
  annotations?: Record<string, string>;
  urls?: string[];
}

/** containerd's platforms.Normalize. */
export function normalizePlatform(p: Platform): Platform {
  let os = (p.os ?? "").toLowerCase();
  if (os === "macos") os = "darwin";
  let arch = (p.architecture ?? "").toLowerCase();
  let variant = (p.variant ?? "").toLowerCase();
  switch (arch) {
    case "i386":
      arch = "386";
      variant = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      arch = "amd64";
      if (variant === "v1") variant = "";
      break;
    case "aarch64":
    case "arm64":
      arch = "arm64";
      if (variant === "8" || variant === "v8" || variant === "v8.0") variant = "";
      else if (variant === "9" || variant === "9.0" || variant === "v9.0") variant = "v9";
      break;
    case "armhf":
      arch = "arm";
      variant = "v7";
      break;
    case "armel":
      arch = "arm";
      variant = "v6";
      break;
    case "arm":
      if (variant === "" || variant === "7") variant = "v7";
      else if (variant === "5" || variant === "6" || variant === "8") variant = `v${variant}`;
      break;
  }
  return variant ? { os, architecture: arch, variant } : { os, architecture: arch };
}

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64", mips: "mips", mipsel: "mipsle" };
  const os = process.platform === "win32" ? "windows" : process.platform;
  const p: Platform = { os, architecture: arch[process.arch] ?? process.arch };
  if (p.architecture === "arm64") p.variant = "v8";
  return normalizePlatform(p);
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** What a machine of platform p can run, best first (containerd's platformVector). */
export function compatiblePlatforms(p: Platform): Platform[] {
  const n = normalizePlatform(p);
  const out: Platform[] = [n];
  const version = (v: string | undefined) => (v && /^v\d+$/.test(v) ? Number(v.slice(1)) : NaN);
  switch (n.architecture) {
    case "amd64": {
      const v = version(n.variant);
      for (let i = v - 1; i >= 1; i--) out.push(i === 1 ? { os: n.os, architecture: "amd64" } : { os: n.os, architecture: "amd64", variant: `v${i}` });
      out.push({ os: n.os, architecture: "386" });
      break;
    }
    case "arm": {
      const v = version(n.variant);
      for (let i = v - 1; i >= 5; i--) out.push({ os: n.os, architecture: "arm", variant: `v${i}` });
      break;
    }
    case "arm64": {
      const v = n.variant ?? "v8";
      out.push({ os: n.os, architecture: "arm", variant: v }, ...compatiblePlatforms({ os: n.os, architecture: "arm", variant: v }).slice(1));
      break;
    }
  }
  return out;
}

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? "") === (b.variant ?? "");
}

/**
 * The descriptor of `index.manifests` that best fits `want` (the host by default); throws an
 * ImageError listing the available platforms when none does.
 */
export function selectManifest(index: { manifests?: Descriptor[] }, want: Platform = hostPlatform(), what = "image"): Descriptor {
  const entries = Array.isArray(index.manifests) ? index.manifests : [];
  for (const candidate of compatiblePlatforms(want)) {
    const hit = entries.find((d) => d.platform && samePlatform(normalizePlatform(d.platform), candidate));
    if (hit) return hit;
  }
  const available = entries
    .filter((d) => d.platform && d.platform.os !== "unknown" && d.platform.architecture !== "unknown")
    .map((d) => formatPlatform(d.platform!));
  throw new ImageError(
    `no manifest for platform ${formatPlatform(normalizePlatform(want))} in ${what}` +
      (available.length ? `; it has: ${[...new Set(available)].join(", ")}` : "; it lists no platforms"),
  );
}
