/**
 * Kits next to their base images (issue 11) against real docker-registry 2.8, which has no referrers API: kit push
 * --attach, kit discover (registry, oci: layout, local store), a third tool's referrer kept, attaches at once,
 * kit copy -r, and a registry that refuses OCI 1.1 manifest fields — the last played by a small proxy in front of the
 * real registry, because distribution 2.8 accepts those fields (it ignores them).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { referrersTag } from "../../src/oras/remote/referrers.js";
import { buildImageIndex, type BuiltImageIndex } from "../support/images.js";
import { runKit } from "../support/cli.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { descriptorOf } from "../support/content.js";
import { startOci11Refuser, type Oci11Refuser } from "../support/oci11-refuser.js";

let a: RunningRegistry;
let b: RunningRegistry;
let work: string;
let image: BuiltImageIndex;
let refuser: Oci11Refuser;
const EMPTY = Buffer.from("{}");
const EMPTY_DESC = descriptorOf(EMPTY, MediaType.EmptyJSON);

async function kitDir(name: string, imageRef: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "kit.yaml"), `name: ${name}\nversion: "1.0.0"\nimage: ${imageRef}\nexposes: [{port: 8080}]\n`);
  await writeFile(path.join(dir, "README.md"), `# ${name}\n`);
  return dir;
}

function env(store = "store"): NodeJS.ProcessEnv {
  return { KIT_STORE: path.join(work, store) };
}

/** A referrer pushed the way another tool (cosign, an SBOM generator) would, straight through the registry API. */
async function thirdPartyReferrer(registry: RunningRegistry, repository: string, subject: Descriptor, artifactType: string): Promise<Descriptor> {
  const repo = new RemoteRepository({ registry: registry.host, repository });
  await repo.push(EMPTY_DESC, EMPTY);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, artifactType, config: EMPTY_DESC, layers: [EMPTY_DESC], subject }));
  const desc = descriptorOf(bytes, MediaType.ImageManifest);
  await repo.pushManifest(desc, bytes);
  return desc;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  work = await mkdtemp(path.join(tmpdir(), "kit-referrers-"));
  image = await buildImageIndex({ url: a.url, repo: "base/agent" }, { tag: "1", seed: "referrers-cli" });
  refuser = await startOci11Refuser(a);
});

afterAll(async () => {
  await refuser?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe("kit push --attach and kit discover", () => {
  it("attaches two kits to one image, keeps a third tool's referrer, and discovers kits only unless --all", async () => {
    const sbom = await thirdPartyReferrer(a, "base/agent", image.index, "application/spdx+json");
    const pushed: string[] = [];
    for (const name of ["alpha", "beta"]) {
      const r = await runKit(["push", `${a.host}/kits/${name}:1.0.0`, await kitDir(name, `${a.host}/base/agent:1`), "--attach", "--json"], { env: env() });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout) as { digest: string; form: string; attached: string };
      expect(doc.form).toBe("oci-1.1");
      expect(doc.attached).toBe(`${a.host}/base/agent@${doc.digest}`);
      pushed.push(doc.digest);
    }
    const found = await runKit(["discover", `${a.host}/base/agent:1`, "--json"]);
    expect(found.code).toBe(0);
    const doc = JSON.parse(found.stdout) as { digest: string; kits: { name: string; version: string; digest: string; reference: string }[] };
    expect(doc.digest).toBe(image.digest);
    expect(doc.kits.map((k) => [k.name, k.version, k.digest]).sort()).toEqual([
      ["alpha", "1.0.0", pushed[0]],
      ["beta", "1.0.0", pushed[1]],
    ]);
    // The SBOM another tool put in the fallback index is still there, and only --all lists it.
    const all = await runKit(["discover", `${a.host}/base/agent:1`, "--all", "--json"]);
    const tree = JSON.parse(all.stdout) as { referrers: { digest: string; artifactType: string }[] };
    expect(tree.referrers.map((r) => r.digest).sort()).toEqual([sbom.digest, ...pushed].sort());
    const text = await runKit(["discover", `${a.host}/base/agent:1`]);
    expect(text.stdout).toContain("alpha");
    expect(text.stdout).not.toContain(sbom.digest);
    // The attached kit pulls from the image's repository as from its own.
    const pulled = await runKit(["pull", `${a.host}/base/agent@${pushed[0]}`, "--json"], { env: env("pull-store") });
    expect(pulled.code).toBe(0);
    expect(JSON.parse(pulled.stdout).kit.name).toBe("alpha");
    // The local store records the attached kit, so discovery works offline by the image's digest.
    const local = await runKit(["discover", "--local", `${a.host}/base/agent@${image.digest}`, "--json"], { env: env() });
    expect(local.code).toBe(0);
    expect((JSON.parse(local.stdout) as { kits: { digest: string }[] }).kits.map((k) => k.digest).sort()).toEqual([...pushed].sort());
  });

  it("two kit push --attach processes at once both end up in the fallback index", async () => {
    const subject = await buildImageIndex({ url: a.url, repo: "base/race" }, { tag: "1", seed: "referrers-race" });
    const results = await Promise.all(
      ["gamma", "delta"].map(async (name) => runKit(["push", `${a.host}/kits/${name}:1.0.0`, await kitDir(name, `${a.host}/base/race:1`), "--attach", "--json"], { env: env(`store-${name}`) })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const digests = results.map((r) => (JSON.parse(r.stdout) as { digest: string }).digest).sort();
    const listed = await new RemoteRepository({ registry: a.host, repository: "base/race" }).predecessors(subject.index);
    expect(listed.map((d) => d.digest).sort()).toEqual(digests);
  });

  it("kit copy -r carries the image, its kits and a third tool's referrer to another registry, where discover finds them", async () => {
    const subject = await buildImageIndex({ url: a.url, repo: "base/travel" }, { tag: "2", seed: "referrers-travel" });
    const sig = await thirdPartyReferrer(a, "base/travel", subject.index, "application/vnd.dev.cosign.artifact.sig.v1+json");
    const r = await runKit(["push", `${a.host}/kits/epsilon:1.0.0`, await kitDir("epsilon", `${a.host}/base/travel:2`), "--attach", "--json"], { env: env() });
    const kit = (JSON.parse(r.stdout) as { digest: string }).digest;
    const copied = await runKit(["copy", "-r", `${a.host}/base/travel:2`, `${b.host}/mirror/travel:2`]);
    expect(copied.stderr).toBe("");
    expect(copied.code).toBe(0);
    const found = await runKit(["discover", `${b.host}/mirror/travel:2`, "--all", "--json"]);
    const doc = JSON.parse(found.stdout) as { kits: { digest: string; name: string }[]; referrers: { digest: string }[] };
    expect(doc.kits.map((k) => [k.name, k.digest])).toEqual([["epsilon", kit]]);
    expect(doc.referrers.map((x) => x.digest).sort()).toEqual([kit, sig.digest].sort());
  });

  it("refuses --attach with --no-pin or an oci: layout (exit 2)", async () => {
    const dir = await kitDir("zeta", `${a.host}/base/agent:1`);
    for (const args of [["push", `${a.host}/kits/zeta:1.0.0`, dir, "--attach", "--no-pin"], ["push", `oci:${path.join(work, "zeta-layout")}:1`, dir, "--attach"]]) {
      const r = await runKit(args, { env: env() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--attach/);
    }
  });
});

describe("a registry that refuses OCI 1.1 manifest fields", () => {
  it("gets the image-spec 1.0 form once, with a warning, and the kit still pulls and inspects", async () => {
    const dir = await kitDir("legacy", `${refuser.host}/base/agent:1`);
    const before = refuser.refused;
    const r = await runKit(["push", `${refuser.host}/kits/legacy:1.0.0`, dir, "--attach", "--json"], { env: env("legacy-store") });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { digest: string; form: string; attached?: string; warnings: string[] };
    expect(doc.form).toBe("image-spec-1.0");
    expect(doc.attached).toBeUndefined();
    expect(doc.warnings.join("\n")).toMatch(/refused the OCI 1.1 manifest fields.*image-spec 1\.0 form.*not attached/);
    expect(r.stderr).toMatch(/^kit: warning: .*image-spec 1\.0 form/m);
    expect(refuser.refused).toBe(before + 1);
    const manifest = JSON.parse((await runKit(["manifest", `${refuser.host}/kits/legacy@${doc.digest}`])).stdout) as Record<string, unknown>;
    expect(manifest.artifactType).toBeUndefined();
    expect(manifest.subject).toBeUndefined();
    const pulled = await runKit(["pull", `${refuser.host}/kits/legacy:1.0.0`, "--json"], { env: env("legacy-pull") });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout).digest).toBe(doc.digest);
    const inspected = await runKit(["inspect", `${refuser.host}/kits/legacy:1.0.0`, "--json"], { env: env("legacy-pull") });
    expect(inspected.code, inspected.stderr).toBe(0);
  });

  it("does not mistake a fallback tag holding the image itself for a list of referrers", async () => {
    const subject = await buildImageIndex({ url: a.url, repo: "base/imposter" }, { tag: "1", seed: "referrers-imposter" });
    const repo = new RemoteRepository({ registry: a.host, repository: "base/imposter" });
    await repo.pushManifest(subject.index, subject.indexBytes, { tag: referrersTag(subject.digest) });
    const r = await runKit(["discover", `${a.host}/base/imposter:1`, "--all", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).referrers).toEqual([]);
  });
});
