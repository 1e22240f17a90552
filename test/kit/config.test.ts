/**
 * kit's config file: the schema and its FILE:LINE:COL reports, the
 * endpoints mirror policies give (test/oras/mirror-location.test.ts has the
 * locations themselves), and the two export formats.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfigFile, ConfigValidationError, loadKitSettings, settingsFrom } from "../../src/kit/config.js";
import { containerdHostsFiles, registriesConfFragment } from "../../src/kit/config-export.js";
import { NotFoundError, OciError, UsageError } from "../../src/oras/errors.js";
import { parseMirrorLocation } from "../../src/oras/mirror-location.js";
import { EndpointsFailedError, fromEndpoints, pullEndpoints, type RegistryMirrorPolicy } from "../../src/oras/mirrors.js";
import { parseReference } from "../../src/oras/reference.js";

const issuesOf = (text: string) => checkConfigFile(Buffer.from(text)).issues;

function settingsOf(text: string) {
  const { value, issues } = checkConfigFile(Buffer.from(text));
  expect(issues).toEqual([]);
  return settingsFrom(value!, "/etc/aegis/kit.yaml");
}

describe("pull endpoints", () => {
  const mirrors = [parseMirrorLocation("m1.local/airgap"), parseMirrorLocation("m2.local")];
  const tag = parseReference("ghcr.io/org/kit:1");
  const digested = parseReference(`ghcr.io/org/kit@sha256:${"b".repeat(64)}`);
  const names = (ref: typeof tag, policy: RegistryMirrorPolicy) => pullEndpoints(ref, policy).map((e) => `${e.ref.registry}/${e.ref.repository}`);

  it("tries the mirrors in order, then the upstream unless fallback is false", () => {
    expect(names(tag, { mirrors })).toEqual(["m1.local/airgap/org/kit", "m2.local/org/kit", "ghcr.io/org/kit"]);
    expect(names(tag, { mirrors, fallback: false })).toEqual(["m1.local/airgap/org/kit", "m2.local/org/kit"]);
  });

  it("keeps tags to the upstream with digest-only, and digests with tag-only", () => {
    expect(names(tag, { mirrors, pullFromMirror: "digest-only" })).toEqual(["ghcr.io/org/kit"]);
    expect(names(digested, { mirrors, pullFromMirror: "digest-only" })).toEqual(["m1.local/airgap/org/kit", "m2.local/org/kit", "ghcr.io/org/kit"]);
    expect(names(tag, { mirrors, pullFromMirror: "tag-only" })).toEqual(["m1.local/airgap/org/kit", "m2.local/org/kit", "ghcr.io/org/kit"]);
    expect(names(digested, { mirrors, pullFromMirror: "tag-only" })).toEqual(["ghcr.io/org/kit"]);
  });

  it("names every endpoint's failure with the upstream's code, and refuses a tag no endpoint may serve", async () => {
    const policy: RegistryMirrorPolicy = { mirrors, source: "/etc/aegis/kit.yaml" };
    const failing = (e: { mirror: boolean }) => Promise.reject(e.mirror ? new OciError("NETWORK", "connection refused") : new NotFoundError("manifest unknown"));
    const err = await fromEndpoints(tag, policy, failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointsFailedError);
    expect((err as OciError).code).toBe("NOT_FOUND");
    expect((err as Error).message).toBe(
      "cannot pull ghcr.io/org/kit:1 from any of its 3 endpoints: mirror m1.local/airgap/org/kit: connection refused; mirror m2.local/org/kit: connection refused; upstream ghcr.io/org/kit: manifest unknown",
    );
    expect((err as OciError).hint).toContain("/etc/aegis/kit.yaml");
    // Content the caller refuses is not a mirror's fault: thrown at once, no other endpoint asked.
    let asked = 0;
    const refused = await fromEndpoints(tag, policy, () => (asked++, Promise.reject(new OciError("INVALID_CONTENT", "not a kit")))).catch((e: unknown) => e);
    expect([asked, (refused as Error).message]).toEqual([1, "not a kit"]);
    const none = await fromEndpoints(tag, { ...policy, pullFromMirror: "digest-only", fallback: false }, failing).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(UsageError);
    expect((none as Error).message).toMatch(/names no digest/);
  });
});

describe("the config file", () => {
  it("gives mirror policies and per-host settings by normalised host", () => {
    const settings = settingsOf(`# site mirrors
registries:
  ghcr.io:
    mirrors: [m.local:5000/airgap, "m2.local"]
    pull_from_mirror: digest-only
  "m.local:5000": {plain_http: true}
  index.docker.io:
    mirrors: [m.local:5000/hub]
    fallback: false
    insecure: true
`);
    expect(settings.mirrors.get("ghcr.io")).toEqual({
      mirrors: [
        { registry: "m.local:5000", prefix: "airgap" },
        { registry: "m2.local", prefix: "" },
      ],
      pullFromMirror: "digest-only",
      fallback: true,
      source: "/etc/aegis/kit.yaml",
    });
    expect(settings.mirrors.get("docker.io")).toMatchObject({ fallback: false });
    expect([...settings.registries]).toEqual([
      ["ghcr.io", {}],
      ["m.local:5000", { plainHttp: true }],
      ["docker.io", { insecure: true }],
    ]);
    expect(settingsOf("").mirrors.size).toBe(0);
  });

  it("reports every problem at its line and column with its field path", () => {
    expect(
      issuesOf(`registries:
  ghcr.io:
    mirrors: ["http://m.local:5000/airgap"]
    pull_from_mirror: digests
    fallbak: false
  "ghcr.io/org": {}
trusts: {}
`),
    ).toEqual([
      { path: 'registries["ghcr.io"].mirrors[0]', message: "no scheme is written (plain HTTP is a per-registry setting)", line: 3, column: 15 },
      { path: 'registries["ghcr.io"].pull_from_mirror', message: 'must be one of "all", "digest-only", "tag-only"', line: 4, column: 23 },
      { path: 'registries["ghcr.io"].fallbak', message: 'unknown field (did you mean "fallback"?)', line: 5, column: 5 },
      { path: 'registries["ghcr.io/org"]', message: expect.stringContaining("must be a registry host"), line: 6, column: 3 },
      { path: "trusts", message: 'unknown field (did you mean "trust"?)', line: 7, column: 1 },
    ]);
    expect(issuesOf("registries:\n  ghcr.io: {plain_http: yes}\n  quay.io: {fallback: false}\n")).toEqual([
      { path: 'registries["ghcr.io"].plain_http', message: "must be true or false", line: 2, column: 25 },
      { path: 'registries["quay.io"].fallback', message: "false needs at least one mirror: nothing could be pulled from this registry", line: 3, column: 23 },
    ]);
    expect(issuesOf("registries:\n  docker.io: {}\n  Index.Docker.io: {}\n")).toEqual([
      { path: 'registries["Index.Docker.io"]', message: 'names the same registry as "docker.io" (docker.io)', line: 3, column: 3 },
    ]);
  });

  it("is no config when the default file is missing, but an error when $KIT_CONFIG names a missing or broken one", async () => {
    const home = await mkdtemp(path.join(tmpdir(), "kit-config-"));
    const env = { HOME: home };
    expect((await loadKitSettings(undefined, env)).file).toBeUndefined();
    const missing = path.join(home, "nope.yaml");
    const notFound = await loadKitSettings(undefined, { KIT_CONFIG: missing }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect((notFound as Error).message).toBe(`${missing}: no such config file (named by $KIT_CONFIG)`);
    const broken = path.join(home, "broken.yaml");
    await writeFile(broken, "registries:\n  ghcr.io:\n    mirrors: m.local\n");
    const err = await loadKitSettings(broken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as Error).message).toBe(`${broken}:3:14: registries["ghcr.io"].mirrors: must be a list of mirror locations, HOST[:PORT][/PREFIX]`);
    expect((err as OciError).hint).toBe(`run "kit config check ${broken}" to see every problem`);
  });
});

describe("export", () => {
  const settings = settingsOf(`registries:
  ghcr.io:
    mirrors: [127.0.0.1:5000/airgap, m2.example:443]
    pull_from_mirror: digest-only
  m2.example:443: {insecure: true}
  docker.io:
    mirrors: [m.example/hub, m.example/hub2]
    fallback: false
`);

  it("writes containerd hosts.toml per registry: mirrors as [host] tables, a prefix below /v2 with override_path", () => {
    const files = containerdHostsFiles(settings);
    expect(files.map((f) => f.path)).toEqual(["ghcr.io/hosts.toml", "m2.example:443/hosts.toml", "docker.io/hosts.toml"]);
    expect(files[0]!.content).toBe(`# containerd hosts.toml for ghcr.io, written by kit config export from "/etc/aegis/kit.yaml".
server = "https://ghcr.io"

[host."http://127.0.0.1:5000/v2/airgap"]
  capabilities = ["pull"]
  override_path = true

[host."https://m2.example:443"]
  capabilities = ["pull"]
  skip_verify = true
`);
    // No fallback: the last mirror is the server, so containerd never asks Docker Hub.
    expect(files[2]!.content).toContain(`server = "https://m.example/v2/hub2"\ncapabilities = ["pull", "resolve"]\noverride_path = true\n\n[host."https://m.example/v2/hub"]`);
    expect(files[2]!.content).not.toContain("registry-1.docker.io");
  });

  it("writes a registries.conf fragment: [[registry]] per registry with its [[registry.mirror]] tables", () => {
    const text = registriesConfFragment(settings);
    expect(text).toContain(`[[registry]]
prefix = "ghcr.io"
location = "ghcr.io"
insecure = false

[[registry.mirror]]
location = "127.0.0.1:5000/airgap"
insecure = true
pull-from-mirror = "digest-only"

[[registry.mirror]]
location = "m2.example:443"
insecure = true
pull-from-mirror = "digest-only"
`);
    expect(text).toMatch(/prefix = "docker.io"\nlocation = "m.example\/hub2"\ninsecure = false\n\n\[\[registry.mirror\]\]\nlocation = "m.example\/hub"\n/);
  });
});
