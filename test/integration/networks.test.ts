// `runjs network …` and `runjs volume …` for real: a network of the user's own that containers
// join by name (its bridge device, subnet and published ports), and named volumes made,
// shared, protected while used, and pruned.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_PARENT, RUNJS } from "./helpers.ts";
import { dockerArchive, layerTar, rootfs } from "./image-fixtures.ts";
import { removeNetworkLeftovers } from "../netclean.ts";

const WORK = mkdtempSync("/tmp/runjs-networks-");
const STORE = join(WORK, "store");
const RT = join(WORK, "runtime");
afterAll(() => {
  for (const c of existsSync(join(STORE, "containers")) ? readdirSync(join(STORE, "containers")) : [])
    Bun.spawnSync([RUNJS, "--root", RT, "container", "rm", "-f", c], { env: { ...process.env, RUNJS_STORAGE: STORE } });
  for (const dev of ["runjs1", "runjs2"]) if (existsSync(`/sys/class/net/${dev}`) && existsSync(join(STORE, "networks"))) Bun.spawnSync(["ip", "link", "delete", dev]);
  removeNetworkLeftovers();
  rmSync(WORK, { recursive: true, force: true });
});

function runjs(args: string[]) {
  const o = join(WORK, `.o${Math.random()}`);
  const e = join(WORK, `.e${Math.random()}`);
  const r = Bun.spawnSync(["sh", "-c", 'exec "$@" >"$O" 2>"$E"', "sh", RUNJS, "--root", RT, ...args], { env: { ...process.env, O: o, E: e, RUNJS_STORAGE: STORE } });
  const res = { code: r.exitCode ?? 128, out: readFileSync(o, "utf8"), err: readFileSync(e, "utf8") };
  rmSync(o);
  rmSync(e);
  return res;
}
const run = (args: string[]) => runjs(["container", "run", "--cgroup-parent", CGROUP_PARENT, ...args]);

const src = rootfs(join(WORK, "src"));
const archive = dockerArchive([layerTar(src, join(WORK, "layer.tar"))], "runjs-test/net:1", join(WORK, "net.tar"), (cfg) => {
  cfg.config = { Env: ["PATH=/bin"], Cmd: ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/home/user"], ExposedPorts: { "80/tcp": {} } };
});
if (runjs(["image", "import", archive]).code !== 0) throw new Error("import failed");
const IMAGE = "runjs-test/net:1";

describe("network", () => {
  test("create, run on it by name (its own device and subnet, a published port), rm refused while used", async () => {
    const c = runjs(["network", "create", "--subnet", "10.89.77.0/24", "--gateway", "10.89.77.1", "testnet"]);
    expect([c.code, c.out, c.err]).toEqual([0, "testnet\n", ""]);
    const ls = runjs(["network", "ls", "--format", "json"]);
    expect(JSON.parse(ls.out).find((n: any) => n.name === "testnet")).toMatchObject({ driver: "bridge", subnet: "10.89.77.0/24", bridge: "runjs1" });
    expect(runjs(["network", "create", "testnet"]).err).toBe("runjs: network create: a network named testnet exists already\n");
    expect(runjs(["network", "create", "--subnet", "10.89.77.128/25", "other"]).err).toBe("runjs: network create: --subnet 10.89.77.128/25 overlaps network testnet's 10.89.77.0/24\n");
    const d = run(["-d", "--name", "onnet", "--network", "testnet", "-P", "-u", "0", IMAGE]);
    expect(d.err).toBe("");
    const ip = runjs(["container", "exec", "onnet", "sh", "-c", "ip -4 -o addr show eth0"]).out;
    expect(ip).toContain("inet 10.89.77.");
    expect(existsSync("/sys/class/net/runjs1")).toBe(true);
    const port = Number(runjs(["container", "port", "onnet"]).out.trim().split(":").at(-1));
    let body = "";
    for (let i = 0; i < 100 && !body; i++)
      try {
        body = await (await fetch(`http://127.0.0.1:${port}/notes`)).text();
      } catch {
        await Bun.sleep(20);
      }
    expect(body).toBe("mine\n");
    expect(JSON.parse(runjs(["network", "inspect", "testnet"]).out).containers).toEqual(["onnet"]);
    expect(runjs(["network", "rm", "testnet"]).err).toBe("runjs: network rm: testnet is used by container(s) onnet: remove them first\n");
    expect(runjs(["container", "rm", "-f", "onnet"]).code).toBe(0);
    expect(runjs(["network", "rm", "testnet"]).out).toBe("testnet\n");
    expect(existsSync("/sys/class/net/runjs1")).toBe(false);
    expect(existsSync(join(STORE, "networks", "testnet.conflist"))).toBe(false);
  });

  test("bad input names the argument and makes nothing", () => {
    expect(runjs(["network", "create", "--subnet", "10.89.78.5/24", "x"]).err).toBe("runjs: --subnet 10.89.78.5/24: has host bits set (the network is 10.89.78.0/24)\n");
    expect(runjs(["network", "create", "--subnet", "10.89.78.0/24", "--gateway", "10.90.0.1", "x"]).err).toBe("runjs: network create: --gateway 10.90.0.1: not a host address of 10.89.78.0/24\n");
    expect(runjs(["network", "create", "host"]).err).toBe("runjs: network create: host is a network of runjs's own\n");
    expect(runjs(["network", "rm", "bridge"]).code).toBe(1);
    expect(runjs(["network", "rm", "nosuch"]).err).toBe("runjs: no such network: nosuch\n");
    expect(existsSync(join(STORE, "networks")) ? readdirSync(join(STORE, "networks")) : []).toEqual([]);
  });
});

describe("volume", () => {
  test("create, filled from the image on first use, shared, rm refused while mounted, prune", () => {
    expect(runjs(["volume", "create", "shared"]).out).toBe("shared\n");
    // an empty volume is filled with what the image has at the mount point
    expect(run(["--rm", "--network", "none", "-u", "0", "-v", "shared:/home/user", IMAGE, "sh", "-c", "cat /home/user/notes; echo more > /home/user/added"]).out).toBe("mine\n");
    expect(run(["--name", "keeper", "--network", "none", "-v", "shared:/data", IMAGE, "sh", "-c", "cat /data/added"]).out).toBe("more\n");
    const v = JSON.parse(runjs(["volume", "inspect", "shared"]).out)[0];
    expect(v).toMatchObject({ name: "shared", mountpoint: join(STORE, "volumes/shared/_data"), containers: ["keeper"] });
    expect(runjs(["volume", "rm", "shared"]).err).toBe("runjs: volume rm: shared is in use by container(s) keeper: remove them first\n");
    expect(runjs(["volume", "prune", "-a"]).out).toBe(""); // in use: kept
    expect(runjs(["container", "rm", "keeper"]).code).toBe(0);
    const anon = runjs(["volume", "create"]).out.trim();
    expect(anon).toMatch(/^[a-f0-9]{64}$/);
    expect(runjs(["volume", "prune"]).out).toBe(`${anon}\n`); // anonymous only
    expect(runjs(["volume", "ls", "-q"]).out).toBe("shared\n");
    expect(runjs(["volume", "rm", "shared"]).out).toBe("shared\n");
    expect(runjs(["volume", "rm", "shared"]).err).toBe("runjs: no such volume: shared\n");
    expect(runjs(["volume", "rm", "-f", "shared"]).code).toBe(0);
    expect(runjs(["volume", "ls", "-q"]).out).toBe("");
  });
});
