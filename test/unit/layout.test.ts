// The seams the code's layout promises, checked on the source: a seam that is only a
// convention erodes one import at a time.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const src = join(import.meta.dir, "../../src");
const files = (dir: string) =>
  readdirSync(join(src, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ name: `${dir}/${f}`, text: readFileSync(join(src, dir, f), "utf8") }));
/** The modules a file imports at run time (type-only imports left out). */
const imports = (text: string) =>
  [...text.matchAll(/^import (?!type )[^;]*?from "([^"]+)"|import\("([^"]+)"\)/gm)].map((m) => (m[1] ?? m[2])!);

test("the runtime's verbs reach the cgroup code only through the driver table", () => {
  const direct = ["manager.ts", "freezer.ts", "resources.ts", "v1.ts", "v2.ts"];
  const offenders = [...files("container"), ...files("engine"), ...files("cli")].flatMap((f) =>
    imports(f.text)
      .filter((m) => /\/cgroups\//.test(m) && direct.some((d) => m.endsWith(`/cgroups/${d}`)))
      .map((m) => `${f.name}: ${m}`),
  );
  expect(offenders).toEqual([]);
});

test("bun:ffi is opened only in src/sys", () => {
  const all = ["cgroups", "cli", "container", "engine", "helper", "hooks", "oci", "plan"].flatMap(files);
  expect(all.filter((f) => /\bdlopen\(/.test(f.text)).map((f) => f.name)).toEqual([]);
});

// seccomp.ts is the one exception, by design: libseccomp is the compiler of the filter (rules
// in, BPF out through a memfd), and it reads nothing of the host's state.
test("plan/ is pure: it imports no I/O (no node:fs, no bun:ffi, nothing of src/sys but its constants)", () => {
  const bad = files("plan").filter((f) => f.name !== "plan/seccomp.ts").flatMap((f) =>
    imports(f.text)
      .filter((m) => m.startsWith("node:") || m === "bun:ffi" || (m.includes("/sys/") && !m.endsWith("/sys/constants.ts")))
      .map((m) => `${f.name}: ${m}`),
  );
  expect(bad).toEqual([]);
});

test("the front end's CLI reaches the runtime and the store only through the engine", () => {
  const front = files("cli").filter((f) => f.name === "cli/container.ts" || f.name === "cli/image.ts");
  expect(front.length).toBe(2);
  const bad = front.flatMap((f) =>
    imports(f.text)
      .filter((m) => /\/(container|cgroups|helper|plan)\//.test(m) || /\/(container|cgroups|helper|plan)\.ts$/.test(m))
      .map((m) => `${f.name}: ${m}`),
  );
  expect(bad).toEqual([]);
});

test("the engine asks src/container/ about the runtime's state, and never opens its files", () => {
  // the runtime's state directory is ROOT/<id>/{state.json,exec.fifo,…}: only src/container/ knows it
  const bad = files("engine").filter((f) => /runtimeRoot\}?\/|join\(\w*[rR]untimeRoot|state\.json|exec\.fifo/.test(f.text)).map((f) => f.name);
  expect(bad).toEqual([]);
});

test("the systemd driver and sd-bus are loaded only when a container uses them", () => {
  // a static import would put them (and what they import) on every verb's start-up path
  const all = ["cgroups", "cli", "container", "engine", "helper", "hooks", "oci", "plan", "sys"].flatMap(files);
  const bad = all.flatMap((f) =>
    [...f.text.matchAll(/^import (?!type )[^;]*?from "([^"]+)"/gm)]
      .map((m) => m[1]!)
      .filter((m) => /\/systemd(-units)?\.ts$|\/sdbus\.ts$/.test(m) && !f.name.startsWith("cgroups/systemd"))
      .map((m) => `${f.name}: ${m}`),
  );
  expect(bad).toEqual([]);
});

test("bin/runjs's bundle holds none of the front end: no engine module, no Dockerfile parser", async () => {
  const out = await Bun.build({ entrypoints: [join(src, "cli/entry.ts")], target: "bun", format: "cjs", minify: true, define: { RUNJS_RUNTIME_ONLY: "true" } });
  expect(out.success).toBe(true);
  const text = await out.outputs[0]!.text();
  // strings only the front end's modules hold
  for (const s of ["DockerfileParser", "build-cache", "monitor.json", "network create", "docker-archive"]) expect([s, text.includes(s)]).toEqual([s, false]);
  // and the whole program (bin/runjs-frontend) does hold them
  const whole = await (await Bun.build({ entrypoints: [join(src, "cli/entry.ts")], target: "bun", format: "cjs", minify: true, define: { RUNJS_RUNTIME_ONLY: "false" } })).outputs[0]!.text();
  for (const s of ["DockerfileParser", "build-cache", "monitor.json"]) expect([s, whole.includes(s)]).toEqual([s, true]);
  expect(text.length).toBeLessThan(whole.length / 2);
});
