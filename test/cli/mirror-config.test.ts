/**
 * The config file's mirrors on real registries: a kit pushed to registry A
 * and copied to mirrors B (under a prefix) and C (without), then pulled by
 * A's name through the mirrors — with A running (pull_from_mirror, order,
 * per-host settings), then with A stopped. Fault proxies in front of the
 * three count who was asked. kit config check and export through the CLI,
 * and the exported registries.conf used by the real skopeo with A stopped.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, SKOPEO_BINARY } from "../support/images.js";
import { freePort, startRegistry, type RunningRegistry } from "../support/registry.js";

let work: string;
let registries: RunningRegistry[] = [];
let proxies: FaultProxy[] = [];
/** pA in front of the upstream A, pB and pC in front of the mirrors. */
let pA: FaultProxy;
let pB: FaultProxy;
let pC: FaultProxy;
/** A loopback port nothing listens on: a mirror that is down. */
let dead: string;
let digest: string;
let original: string;

async function temp(prefix: string): Promise<string> {
  return mkdtemp(path.join(work, `${prefix}-`));
}

/** A config file with these registries (YAML is a superset of JSON). */
async function config(registriesSection: Record<string, unknown>): Promise<string> {
  const file = path.join(await temp("config"), "kit.yaml");
  await writeFile(file, `# mirrors for the test\nregistries: ${JSON.stringify(registriesSection)}\n`);
  return file;
}

async function kit(args: string[], configFile: string | undefined, store?: string) {
  const env = { HOME: work, DOCKER_CONFIG: path.join(work, "no-docker-config"), KIT_STORE: store ?? (await temp("store")), KIT_CONFIG: configFile ?? "" };
  return runKit(args, { env });
}

async function pullJson(ref: string, configFile: string, store?: string): Promise<{ reference: string; endpoint: string; digest: string }> {
  const result = await kit(["pull", ref, "--json"], configFile, store);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/**
 * `skopeo inspect --raw` with only the registries.conf given: not the test support's skopeo(), which adds
 * --tls-verify=false, since here the fragment's `insecure` alone must decide how skopeo speaks to a mirror.
 */
function skopeoInspectRaw(registriesConf: string, ref: string): Promise<{ stdout: Buffer; stderr: string }> {
  const args = ["--insecure-policy", "--registries-conf", registriesConf, "inspect", "--raw", `docker://${ref}`];
  return new Promise((resolve) =>
    execFile(SKOPEO_BINARY, args, { encoding: "buffer", timeout: 60_000 }, (err, stdout, stderr) => resolve({ stdout, stderr: err ? stderr.toString() || String(err) : "" })),
  );
}

function resetCounts(): void {
  for (const proxy of proxies) proxy.resetRequests();
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-mirrors-"));
  registries = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  proxies = await Promise.all(registries.map((upstream) => startFaultProxy({ upstream })));
  [pA, pB, pC] = proxies as [FaultProxy, FaultProxy, FaultProxy];
  dead = `127.0.0.1:${await freePort()}`;
  await buildImage({ url: registries[0]!.url, repo: "base/agent" }, { tag: "latest", seed: "mirror-config-base" });
  const dir = await temp("kit");
  await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${pA.host}/base/agent:latest\n`);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  original = `${pA.host}/org/famiglia-kit`;
  const pushed = await kit(["push", `${original}:1.0.0`, dir, "--json"], undefined);
  expect(pushed.code, pushed.stderr).toBe(0);
  digest = JSON.parse(pushed.stdout).digest;
  for (const mirror of [`${pB.host}/airgap/org/famiglia-kit:1.0.0`, `${pC.host}/org/famiglia-kit:1.0.0`]) {
    const copied = await kit(["copy", `${original}:1.0.0`, mirror], undefined);
    expect(copied.code, copied.stderr).toBe(0);
  }
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(registries.map((r) => r.stop()));
});

describe("kit config check", () => {
  it("accepts a good file (exit 0) and reports each problem of a bad one at FILE:LINE:COL (exit 3)", async () => {
    const good = await config({ "ghcr.io": { mirrors: ["m.local:5000/airgap"], pull_from_mirror: "digest-only" }, "m.local:5000": { plain_http: true } });
    expect(await kit(["config", "check", good], undefined)).toMatchObject({ code: 0, stdout: `${good}: valid (2 registries, 1 mirror)\n`, stderr: "" });
    const bad = path.join(await temp("config"), "kit.yaml");
    await writeFile(bad, "registries:\n  ghcr.io:\n    mirrors: [http://m.local/airgap]\n    fallbak: false\n");
    const checked = await kit(["config", "check"], bad);
    expect(checked.code).toBe(3);
    expect(checked.stderr).toBe(
      `${bad}:3:15: registries["ghcr.io"].mirrors[0]: no scheme is written (plain HTTP is a per-registry setting)\n` +
        `${bad}:4:5: registries["ghcr.io"].fallbak: unknown field (did you mean "fallback"?)\n` +
        `kit: error: ${bad} is not a valid config file (2 problems)\n`,
    );
    const json = await kit(["config", "check", bad, "--json"], undefined);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ file: bad, found: true, valid: false, errors: [{ line: 3, column: 15 }, { line: 4, column: 5 }] });
    // A pull with the broken file named by $KIT_CONFIG stops there, pointing at the first problem.
    const pull = await kit(["pull", `${original}:1.0.0`], bad);
    expect(pull.code).toBe(3);
    expect(pull.stderr).toContain(`kit: error: ${bad}:3:15: registries["ghcr.io"].mirrors[0]:`);
    expect(pull.stderr).toContain(`kit: hint: run "kit config check ${bad}" to see every problem`);
  });
});

describe("with the upstream running", () => {
  it.each([
    ["digest-only", "upstream", "mirror"],
    ["tag-only", "mirror", "upstream"],
  ] as const)("pull_from_mirror: %s sends a tag to the %s and a digest to the %s", async (mode, tagTo, digestTo) => {
    const file = await config({ [pA.host]: { mirrors: [`${pB.host}/airgap`], pull_from_mirror: mode } });
    const endpoints = { upstream: original, mirror: `${pB.host}/airgap/org/famiglia-kit` };
    for (const [ref, to] of [
      [`${original}:1.0.0`, tagTo],
      [`${original}@${digest}`, digestTo],
    ] as const) {
      resetCounts();
      const pulled = await pullJson(ref, file);
      expect(pulled).toMatchObject({ reference: `${original}@${digest}`, endpoint: endpoints[to] });
      // The other side was not asked at all.
      expect([pA.count() > 0, pB.count() > 0], ref).toEqual(to === "upstream" ? [true, false] : [false, true]);
    }
  });

  it("tries mirrors in order: one down and one its host entry sends to HTTPS fail, the third serves", async () => {
    const file = await config({
      [pA.host]: { mirrors: [`${dead}/airgap`, `${pB.host}/airgap`, pC.host] },
      // B speaks plain HTTP: forced to HTTPS by its own entry, it cannot serve.
      [pB.host]: { plain_http: false },
    });
    resetCounts();
    const pulled = await pullJson(`${original}:1.0.0`, file);
    expect(pulled).toMatchObject({ reference: `${original}@${digest}`, endpoint: `${pC.host}/org/famiglia-kit` });
    expect(pA.count()).toBe(0);
  });
});

describe("with the upstream stopped", () => {
  let throughB: string;

  beforeAll(async () => {
    await registries[0]!.stop();
    throughB = await config({ [pA.host]: { mirrors: [`${pB.host}/airgap`] } });
  });

  it("pulls the original reference through the mirror, says which served, and the store keeps the original name", async () => {
    const store = await temp("store");
    const pulled = await pullJson(`${original}:1.0.0`, throughB, store);
    expect(pulled).toMatchObject({ reference: `${original}@${digest}`, digest, endpoint: `${pB.host}/airgap/org/famiglia-kit` });
    const listed = JSON.parse((await kit(["ls", "--json"], throughB, store)).stdout);
    expect(listed.kits.map((k: { reference: string }) => k.reference)).toEqual([`${original}:1.0.0`]);
    // Offline and with no config at all: the store says A's name.
    const offline = await pullJson(`famiglia@${digest}`, "", store);
    expect(offline).toMatchObject({ reference: `${original}@${digest}`, endpoint: original });
    const human = await kit(["pull", `${original}:1.0.0`], throughB, store);
    expect(human.stdout).toBe(`${original}@${digest}\npulled through the mirror ${pB.host}/airgap/org/famiglia-kit\n`);
  });

  it("resolves, inspects and copies through the mirror under the original name", async () => {
    const resolved = await kit(["resolve", `${original}:1.0.0`, "--json"], throughB);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ reference: `${original}@${digest}`, digest, endpoint: `${pB.host}/airgap/org/famiglia-kit` });
    const inspected = await kit(["inspect", `${original}:1.0.0`, "--json"], throughB);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ reference: `${original}@${digest}`, endpoint: `${pB.host}/airgap/org/famiglia-kit` });
    const layout = await temp("layout");
    const copied = await kit(["copy", `${original}:1.0.0`, `oci:${layout}`, "--json"], throughB);
    expect(copied.code, copied.stderr).toBe(0);
    expect(JSON.parse(copied.stdout)).toMatchObject({ source: `${original}:1.0.0`, sourceEndpoint: `${pB.host}/airgap/org/famiglia-kit`, digest, tag: "1.0.0" });
  });

  it("fails with fallback: false and the mirror down, never asking the upstream", async () => {
    const file = await config({ [pA.host]: { mirrors: [dead], fallback: false } });
    resetCounts();
    const result = await kit(["pull", `${original}:1.0.0`, "--json"], file);
    expect(result.code).toBe(1);
    const { error } = JSON.parse(result.stdout);
    expect(error.code).toBe("NETWORK");
    expect(error.message).toMatch(new RegExp(`^cannot pull ${original}:1\\.0\\.0 from its only endpoint, mirror ${dead}/org/famiglia-kit: `));
    expect(error.hint).toContain(`the mirrors of ${pA.host} are set in ${file}`);
    expect(pA.count()).toBe(0);
  });

  it("names every endpoint when all fail, with the upstream's exit code", async () => {
    // The mirror lacks the repository (not found, exit 5 alone); the upstream is down (exit 1).
    const file = await config({ [pA.host]: { mirrors: [`${pB.host}/elsewhere`] } });
    const result = await kit(["pull", `${original}:1.0.0`], file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^kit: error: cannot pull ${original}:1\\.0\\.0 from any of its 2 endpoints: mirror ${pB.host}/elsewhere/org/famiglia-kit: .*not found.*; upstream ${original}: `, "m"),
    );
    expect(result.stderr).toContain(`the mirrors of ${pA.host} are set in ${file}`);
  });

  it("exports the mirrors: skopeo reads A's name through the registries.conf, containerd gets hosts.toml", async () => {
    const out = await temp("export");
    const conf = path.join(out, "aegis.conf");
    expect(await kit(["config", "export", "--format", "registries.conf", "-o", conf], throughB)).toMatchObject({ code: 0, stdout: `wrote ${conf}\n` });
    // No --tls-verify: only the fragment's `insecure = true` lets skopeo speak plain HTTP to the mirror.
    const read = await skopeoInspectRaw(conf, `${original}:1.0.0`);
    expect(read.stderr).toBe("");
    expect(`sha256:${createHash("sha256").update(read.stdout).digest("hex")}`).toBe(digest);
    // And it is the fragment that did it: with insecure = false skopeo asks the mirror over HTTPS and fails.
    await writeFile(conf, (await readFile(conf, "utf8")).replaceAll("insecure = true", "insecure = false"));
    const refused = await skopeoInspectRaw(conf, `${original}:1.0.0`);
    expect(refused.stderr).toContain(`Mirrors also failed: [${pB.host}/airgap/org/famiglia-kit:1.0.0: pinging container registry ${pB.host}`);

    const hostsDir = path.join(out, "certs.d");
    const exported = await kit(["config", "export", "--format", "containerd", "-o", hostsDir], throughB);
    expect(exported).toMatchObject({ code: 0, stdout: `wrote ${hostsDir}/${pA.host}/hosts.toml\n` });
    expect(await readFile(path.join(hostsDir, pA.host, "hosts.toml"), "utf8")).toContain(
      `server = "http://${pA.host}"\n\n[host."http://${pB.host}/v2/airgap"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n`,
    );
    const again = await kit(["config", "export", "--format", "containerd", "-o", hostsDir], throughB);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("pass --force to replace it");
    expect((await kit(["config", "export", "--format", "containerd", "-o", hostsDir, "--force"], throughB)).code).toBe(0);
  });
});
