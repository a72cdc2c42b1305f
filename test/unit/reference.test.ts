// Image reference parsing and normalisation, checked against Docker's rules: the registry is
// the first component only if it looks like a host, Docker Hub names get "library/", a
// missing tag means "latest" unless a digest pins the image, and the distribution grammar
// (lowercase path components, 128-character tags, sha256 digests) is enforced.
import { describe, expect, test } from "bun:test";
import { apiHost, formatReference, parseReference } from "../../src/engine/images/reference.ts";
import { ImageError } from "../../src/engine/images/store.ts";

const D = `sha256:${"ab".repeat(32)}`;

describe("parseReference: valid", () => {
  const cases: [string, string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
    ["busybox", "docker.io/library/busybox:latest", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["busybox:1.36", "docker.io/library/busybox:1.36", { registry: "docker.io", repository: "library/busybox", tag: "1.36" }],
    ["library/busybox", "docker.io/library/busybox:latest", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["user/img", "docker.io/user/img:latest", { registry: "docker.io", repository: "user/img", tag: "latest" }],
    ["user/img:v2", "docker.io/user/img:v2", { registry: "docker.io", repository: "user/img", tag: "v2" }],
    ["a/b/c/d", "docker.io/a/b/c/d:latest", { registry: "docker.io", repository: "a/b/c/d", tag: "latest" }],
    ["docker.io/busybox", "docker.io/library/busybox:latest", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["index.docker.io/busybox", "docker.io/library/busybox:latest", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["index.docker.io/user/img:1", "docker.io/user/img:1", { registry: "docker.io", repository: "user/img", tag: "1" }],
    ["localhost/x", "localhost/x:latest", { registry: "localhost", repository: "x", tag: "latest" }],
    ["localhost:5000/x", "localhost:5000/x:latest", { registry: "localhost:5000", repository: "x", tag: "latest" }],
    ["localhost:5000/x/y:t", "localhost:5000/x/y:t", { registry: "localhost:5000", repository: "x/y", tag: "t" }],
    ["127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest", { registry: "127.0.0.1:5000", repository: "busybox", tag: "latest" }],
    ["quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0", { registry: "quay.io", repository: "coreos/etcd", tag: "v3.5.0" }],
    ["ghcr.io/owner/repo/sub", "ghcr.io/owner/repo/sub:latest", { registry: "ghcr.io", repository: "owner/repo/sub", tag: "latest" }],
    ["registry:5000/x", "registry:5000/x:latest", { registry: "registry:5000", repository: "x", tag: "latest" }],
    ["my-registry.example.com:443/team/app:1.0.0-rc.1", "my-registry.example.com:443/team/app:1.0.0-rc.1", { registry: "my-registry.example.com:443", repository: "team/app", tag: "1.0.0-rc.1" }],
    ["[::1]:5000/x:y", "[::1]:5000/x:y", { registry: "[::1]:5000", repository: "x", tag: "y" }],
    // a first component without '.', ':' or "localhost" is a Docker Hub namespace
    ["registry/x", "docker.io/registry/x:latest", { registry: "docker.io", repository: "registry/x", tag: "latest" }],
    ["localhostx/x", "docker.io/localhostx/x:latest", { registry: "docker.io", repository: "localhostx/x", tag: "latest" }],
    // an upper-case first component can only be a host
    ["Example/x", "Example/x:latest", { registry: "Example", repository: "x", tag: "latest" }],
    // separators inside path components
    ["ns/a.b_c__d-e--f", "docker.io/ns/a.b_c__d-e--f:latest", { registry: "docker.io", repository: "ns/a.b_c__d-e--f", tag: "latest" }],
    ["a.b-c/g", "a.b-c/g:latest", { registry: "a.b-c", repository: "g", tag: "latest" }],
    ["x0/9y", "docker.io/x0/9y:latest", { registry: "docker.io", repository: "x0/9y", tag: "latest" }],
    // tags
    ["busybox:_x", "docker.io/library/busybox:_x", { registry: "docker.io", repository: "library/busybox", tag: "_x" }],
    ["busybox:A.b-C_d", "docker.io/library/busybox:A.b-C_d", { registry: "docker.io", repository: "library/busybox", tag: "A.b-C_d" }],
    [`busybox:${"t".repeat(128)}`, `docker.io/library/busybox:${"t".repeat(128)}`, { registry: "docker.io", repository: "library/busybox", tag: "t".repeat(128) }],
    // digests: no tag implied, a written tag kept
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, { registry: "docker.io", repository: "library/busybox", digest: D }],
    [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`, { registry: "docker.io", repository: "library/busybox", tag: "1.36", digest: D }],
    [`localhost:5000/x@${D}`, `localhost:5000/x@${D}`, { registry: "localhost:5000", repository: "x", digest: D }],
    [`localhost:5000/x:t@${D}`, `localhost:5000/x:t@${D}`, { registry: "localhost:5000", repository: "x", tag: "t", digest: D }],
    // a 64-hex name is allowed when it is clearly a name (with a tag)
    [`${"a".repeat(64)}:t`, `docker.io/library/${"a".repeat(64)}:t`, { registry: "docker.io", repository: `library/${"a".repeat(64)}`, tag: "t" }],
  ];
  for (const [input, formatted, parsed] of cases)
    test(input.length > 60 ? input.slice(0, 60) + "…" : input, () => {
      const r = parseReference(input);
      expect(r).toEqual(parsed);
      expect(formatReference(r)).toBe(formatted);
      // the canonical form parses to the same reference
      expect(parseReference(formatted)).toEqual(r);
    });
});

describe("parseReference: invalid", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    [" busybox", /white space/],
    ["busy box", /white space/],
    ["busybox ", /white space/],
    ["Busybox", /must be lowercase/],
    ["user/Img", /must be lowercase/],
    ["localhost:5000/Foo", /must be lowercase/],
    ["busybox:", /empty tag/],
    ["busybox:-x", /invalid tag/],
    ["busybox:.x", /invalid tag/],
    // a ':' before a '/' is a port, and "a" is not one
    ["busybox:a/b", /invalid registry "busybox:a"/],
    [`busybox:${"t".repeat(129)}`, /invalid tag/],
    ["busybox:t!", /invalid tag/],
    ["busybox@", /digest/],
    ["busybox@sha256:abc", /digest must be/],
    [`busybox@sha256:${"A".repeat(64)}`, /digest must be/],
    [`busybox@sha512:${"a".repeat(128)}`, /unsupported digest algorithm "sha512"/],
    [`busybox@${D}@${D}`, /more than one "@"/],
    [`@${D}`, /no repository name/],
    [":tag", /no repository name/],
    ["/busybox", /empty path component/],
    ["busybox/", /empty path component/],
    ["a//b", /empty path component/],
    ["localhost:5000/", /no repository name/],
    ["-a/b", /invalid repository component "-a"/],
    ["a-/b", /invalid repository component "a-"/],
    ["a/_b", /invalid repository component "_b"/],
    ["a/b___c", /invalid repository component "b___c"/],
    ["a/b..c", /invalid repository component "b..c"/],
    ["a/b.", /invalid repository component "b."/],
    ["a/b$c", /invalid repository component/],
    ["-bad.host/x", /invalid registry "-bad.host"/],
    ["bad_host.com/x", /invalid registry/],
    ["host.com:port/x", /invalid registry/],
    ["a".repeat(64), /image id, not a repository name/],
    [`example.com/${"a".repeat(250)}`, /longer than 255/],
  ];
  for (const [input, why] of cases)
    test(JSON.stringify(input.length > 60 ? input.slice(0, 60) + "…" : input), () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ImageError);
      expect((err as Error).message).toStartWith(`invalid reference ${JSON.stringify(input)}: `);
      expect((err as Error).message).toMatch(why);
    });
});

describe("formatReference and apiHost", () => {
  test("format with and without tag and digest", () => {
    expect(formatReference({ registry: "docker.io", repository: "library/busybox", tag: "latest" })).toBe("docker.io/library/busybox:latest");
    expect(formatReference({ registry: "r:1", repository: "x", digest: D })).toBe(`r:1/x@${D}`);
    expect(formatReference({ registry: "r:1", repository: "x", tag: "t", digest: D })).toBe(`r:1/x:t@${D}`);
    expect(formatReference({ registry: "r:1", repository: "x" })).toBe("r:1/x");
  });
  test("Docker Hub's API is registry-1.docker.io; others are themselves", () => {
    expect(apiHost("docker.io")).toBe("registry-1.docker.io");
    expect(apiHost("index.docker.io")).toBe("registry-1.docker.io");
    expect(apiHost(parseReference("busybox").registry)).toBe("registry-1.docker.io");
    expect(apiHost("localhost:5000")).toBe("localhost:5000");
    expect(apiHost("quay.io")).toBe("quay.io");
  });
});
