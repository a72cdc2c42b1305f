// Docker's rules for turning an image and `container run` flags into a config.json.
import { describe, expect, test } from "bun:test";
import { parsePublish } from "../../src/engine/containers/network.ts";
import { capabilities, containerSpec, DOCKER_CAPS, parseVolume, resolveUser, type RunFlags, type SpecContext } from "../../src/engine/containers/spec.ts";

const flags = (over: Partial<RunFlags> = {}): RunFlags => ({
  image: "img", cmd: [], tty: false, interactive: false, rm: true, env: [], envFileLines: [], volumes: [], tmpfs: [],
  network: "none", readOnly: false, capAdd: [], capDrop: [], securityOpt: [], ...over,
});
const ctx: SpecContext = {
  rootfs: "/c/rootfs",
  hostname: "h1",
  etc: { hostname: "/c/etc/hostname", hosts: "/c/etc/hosts", resolv: "/c/etc/resolv.conf" },
  passwd: "root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n",
  group: "root:x:0:\nweb:x:33:\nlog:x:4:web\nstaff:x:50:web,other\n",
  cgroupsPath: "/runjs/abc",
  hostEnv: { FROM_HOST: "h" },
  readFile: () => "{}",
};

describe("the command", () => {
  test("Entrypoint + Cmd; arguments replace Cmd; --entrypoint drops the image's Cmd", () => {
    const img = { Entrypoint: ["/entry"], Cmd: ["default"] };
    expect(containerSpec(img, flags(), ctx).process!.args).toEqual(["/entry", "default"]);
    expect(containerSpec(img, flags({ cmd: ["x", "y"] }), ctx).process!.args).toEqual(["/entry", "x", "y"]);
    expect(containerSpec(img, flags({ entrypoint: "/other" }), ctx).process!.args).toEqual(["/other"]);
    expect(containerSpec(img, flags({ entrypoint: "", cmd: ["ls"] }), ctx).process!.args).toEqual(["ls"]);
    expect(() => containerSpec({}, flags(), ctx)).toThrow("img: no command");
  });
});

describe("the environment and the user", () => {
  test("image Env, then env files, then -e; NAME alone comes from our environment; HOSTNAME, TERM", () => {
    const s = containerSpec({ Env: ["A=image", "PATH=/bin"], Cmd: ["sh"] }, flags({ env: ["A=flag", "FROM_HOST", "MISSING"], envFileLines: ["# c", "B=file", ""], tty: true }), ctx);
    expect(s.process!.env).toEqual(["A=flag", "PATH=/bin", "B=file", "FROM_HOST=h", "HOSTNAME=h1", "TERM=xterm"]);
  });

  test("names are looked up in the image; groups that list the user are added", () => {
    expect(resolveUser("web", ctx.passwd, ctx.group)).toEqual({ uid: 33, gid: 33, additionalGids: [4, 50] });
    expect(resolveUser("web:log", ctx.passwd, ctx.group)).toEqual({ uid: 33, gid: 4, additionalGids: [] });
    expect(resolveUser("1000:1000", ctx.passwd, ctx.group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [] });
    expect(resolveUser("33", ctx.passwd, ctx.group).gid).toBe(33);
    expect(() => resolveUser("nope", ctx.passwd, ctx.group)).toThrow('no user "nope"');
    expect(() => resolveUser("web:nogroup", ctx.passwd, ctx.group)).toThrow('no group "nogroup"');
  });
});

describe("hardening, mounts, network, limits", () => {
  test("Docker's capabilities, --cap-add/--cap-drop and ALL; the default seccomp profile; unconfined", () => {
    expect(capabilities([], []).sort()).toEqual([...DOCKER_CAPS].sort());
    expect(capabilities(["net_admin"], ["CAP_MKNOD"])).toContain("CAP_NET_ADMIN");
    expect(capabilities(["net_admin"], ["CAP_MKNOD"])).not.toContain("CAP_MKNOD");
    expect(capabilities(["CHOWN"], ["ALL"])).toEqual(["CAP_CHOWN"]);
    expect(() => capabilities(["CAP_BOGUS"], [])).toThrow("--cap-add: unknown capability CAP_BOGUS");
    expect(containerSpec({ Cmd: ["sh"] }, flags(), ctx).linux!.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    const s = containerSpec({ Cmd: ["sh"] }, flags({ securityOpt: ["seccomp=unconfined", "no-new-privileges"] }), ctx);
    expect([s.linux!.seccomp, s.process!.noNewPrivileges]).toEqual([undefined, true]);
  });

  test("AppArmor: the default profile where the host has one, apparmor=PROFILE, apparmor=unconfined", () => {
    const profileOf = (opts: string[], def?: () => string | undefined) =>
      containerSpec({ Cmd: ["sh"] }, flags({ securityOpt: opts }), { ...ctx, apparmorDefault: def }).process!.apparmorProfile;
    expect(profileOf([])).toBeUndefined(); // no AppArmor on the host
    expect(profileOf([], () => "runjs-default")).toBe("runjs-default");
    expect(profileOf(["apparmor=mine"], () => "runjs-default")).toBe("mine");
    // unconfined never asks for the default (which may fail to load)
    const failing = () => {
      throw new Error("apparmor_parser is not installed");
    };
    expect(profileOf(["apparmor=unconfined"], failing)).toBeUndefined();
    expect(() => profileOf([], failing)).toThrow("apparmor_parser is not installed");
    expect(() => profileOf(["apparmor="])).toThrow("supported are seccomp=unconfined|FILE, apparmor=unconfined|PROFILE and no-new-privileges");
  });

  test("volumes, tmpfs, the container's /etc files; host network drops the namespace", () => {
    expect(parseVolume("/a:/b:ro")).toEqual({ source: "/a", named: false, destination: "/b", readOnly: true, given: "/a:/b:ro" });
    expect(parseVolume("data:/b")).toEqual({ source: "data", named: true, destination: "/b", readOnly: false, given: "data:/b" });
    expect(() => parseVolume("../x:/b")).toThrow("an absolute host path or a volume name");
    expect(() => parseVolume("/a:/b:rx")).toThrow('unknown mode "rx"');
    expect(() => parseVolume("/a")).toThrow("want SRC:DST[:ro|rw]");
    const s = containerSpec({ Cmd: ["sh"] }, flags({ volumes: [parseVolume("/data:/d:ro")], tmpfs: ["/scratch"], network: "host" }), ctx);
    const dests = s.mounts!.map((m) => m.destination);
    for (const d of ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/d", "/scratch"]) expect(dests).toContain(d);
    expect(s.mounts!.find((m) => m.destination === "/d")!.options).toContain("ro");
    expect(s.linux!.namespaces!.some((n) => n.type === "network")).toBe(false);
    expect(containerSpec({ Cmd: ["sh"] }, flags(), ctx).linux!.namespaces!.some((n) => n.type === "network")).toBe(true);
  });

  test("--memory, --cpus, --pids-limit become linux.resources; bad values are named", () => {
    const r = containerSpec({ Cmd: ["sh"] }, flags({ memory: "64m", cpus: "1.5", pidsLimit: "100" }), ctx).linux!.resources!;
    expect(r).toEqual({ memory: { limit: 64 * 1024 * 1024 }, cpu: { quota: 150000, period: 100000 }, pids: { limit: 100 } });
    expect(() => containerSpec({ Cmd: ["sh"] }, flags({ cpus: "-1" }), ctx)).toThrow("--cpus");
    expect(() => containerSpec({ Cmd: ["sh"] }, flags({ pidsLimit: "x" }), ctx)).toThrow("--pids-limit");
    expect(() => containerSpec({ Cmd: ["sh"] }, flags({ workdir: "rel" }), ctx)).toThrow('--workdir "rel": must be absolute');
  });
});

describe("published ports", () => {
  test("[IP:]HOST:CTR[/udp]", () => {
    expect(parsePublish("8080:80")).toEqual({ hostIP: "", hostPort: 8080, containerPort: 80, protocol: "tcp" });
    expect(parsePublish("127.0.0.1:53:53/udp")).toEqual({ hostIP: "127.0.0.1", hostPort: 53, containerPort: 53, protocol: "udp" });
    expect(() => parsePublish("80")).toThrow("want [IP:]HOST_PORT:CONTAINER_PORT");
    expect(() => parsePublish("0:80")).toThrow("host port 0 is not in 1-65535");
  });
});

describe("the front end's AppArmor profile", () => {
  test("runjs-default: confined signals and ptrace, no mount, no kernel knobs", async () => {
    const { defaultProfileText, DEFAULT_PROFILE } = await import("../../src/engine/containers/apparmor.ts");
    const t = defaultProfileText();
    expect(t).toContain(`profile ${DEFAULT_PROFILE} flags=(attach_disconnected,mediate_deleted) {`);
    expect(t).toContain("deny mount,");
    expect(t).toContain(`signal (send,receive) peer=${DEFAULT_PROFILE},`);
    expect(t).toContain("deny @{PROC}/sys/** w,");
    expect(t.trim().endsWith("}")).toBe(true);
  });
});
