/**
 * kit pull --referrers (issue 11 item 4: the local store keeps the referrers of the kits it holds), through the built
 * CLI against a real docker-registry 2.8 (no referrers API: the sha256-<hex> fallback index) and the real store.
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { runKit, type CliResult } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

let registry: RunningRegistry;
let work: string;
let kitRef: string;
let kitDigest: string;
let sbom: Descriptor;

function kit(args: string[], store: string): Promise<CliResult> {
  return runKit(args, { env: { KIT_STORE: path.join(work, store), KIT_KEY_PASSWORD: "p" }, cwd: work });
}

/** A third tool's referrer of `subject` (an SBOM), or a cosign-style tagged manifest when `tag` is given. */
async function pushArtifact(repo: RemoteRepository, artifactType: string, content: string, subject?: Descriptor, tag?: string): Promise<Descriptor> {
  const blob = Buffer.from(content);
  const layer = { mediaType: artifactType, digest: digestOf(blob), size: blob.length };
  await repo.push(layer, blob);
  const empty = Buffer.from("{}");
  const config = { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf(empty), size: 2 };
  await repo.push(config, empty);
  const manifest = { schemaVersion: 2, mediaType: MediaType.ImageManifest, artifactType, config, layers: [layer], ...(subject ? { subject } : {}) };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = { mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length, artifactType };
  await repo.pushManifest(desc, bytes, tag !== undefined ? { tag } : {});
  return desc;
}

async function storeNames(store: string): Promise<string[]> {
  const index = JSON.parse(await readFile(path.join(work, store, "index.json"), "utf8"));
  return index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"]).sort();
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), "kit-pull-referrers-"));
  await buildImage({ url: registry.url, repo: "org/base" }, { tag: "1", seed: "pull-referrers-base" });
  const dir = path.join(work, "kit");
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${registry.host}/org/base:1\nexposes: [{port: 8080}]\n`);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  expect((await kit(["key", "generate", "-o", path.join(work, "k")], "s0")).code).toBe(0);
  const pushed = await kit(["push", `${registry.host}/org/famiglia-kit:1.0.0`, dir, "--sign", path.join(work, "k.key"), "--json"], "s0");
  expect(pushed.code, pushed.stderr).toBe(0);
  ({ reference: kitRef, digest: kitDigest } = JSON.parse(pushed.stdout));
  const repo = new RemoteRepository({ registry: registry.host, repository: "org/famiglia-kit" });
  const subject = { mediaType: MediaType.ImageManifest, digest: kitDigest, size: (await repo.resolve(kitDigest)).size };
  sbom = await pushArtifact(repo, "application/spdx+json", '{"spdxVersion":"SPDX-2.3"}', subject);
  // What is attached to the SBOM travels too: a cosign-style signature tag of its digest.
  await pushArtifact(repo, "application/vnd.dev.cosign.simplesigning.v1+json", "{}", undefined, `sha256-${sbom.digest.slice(7)}.sig`);
});

afterAll(async () => {
  await registry?.stop();
});

describe("kit pull --referrers", () => {
  it("stores the kit with everything attached to it, recursively, and discover finds it in the store", async () => {
    const pulled = await kit(["pull", kitRef, "--referrers", "--json"], "s1");
    expect(pulled.code, pulled.stderr).toBe(0);
    const { attachments } = JSON.parse(pulled.stdout);
    const hex = kitDigest.slice(7);
    // The simple-signing tag, the Sigstore bundle referrer, the SBOM referrer, then the SBOM's own signature.
    expect(attachments).toHaveLength(4);
    expect(attachments).toContainEqual({ digest: expect.stringMatching(/^sha256:/), tag: `sha256-${hex}.sig` });
    expect(attachments).toContainEqual({ digest: sbom.digest });
    expect(attachments.at(-1)).toEqual({ digest: expect.stringMatching(/^sha256:/), tag: `sha256-${sbom.digest.slice(7)}.sig` });
    const repo = `${registry.host}/org/famiglia-kit`;
    expect(await storeNames("s1")).toEqual(
      [`${repo}@${kitDigest}`, ...attachments.map((a: { digest: string; tag?: string }) => (a.tag !== undefined ? `${repo}:${a.tag}` : `${repo}@${a.digest}`))].sort(),
    );
    const discovered = await kit(["discover", `${repo}@${kitDigest}`, "--local", "--all", "--json"], "s1");
    expect(discovered.code, discovered.stderr).toBe(0);
    const types = JSON.parse(discovered.stdout).referrers.map((r: { artifactType: string }) => r.artifactType).sort();
    expect(types).toEqual(["application/spdx+json", "application/vnd.dev.sigstore.bundle.v0.3+json"]);
    // Offline verification reads what was stored: the kit's signatures in both forms.
    await registry.stop();
    const verified = await kit(["verify", `famiglia@${kitDigest}`, "--key", path.join(work, "k.pub"), "--json"], "s1");
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).signatures.map((s: { verdict: string }) => s.verdict)).toEqual(["verified", "verified"]);
  });

  it("refuses --referrers for a store reference, which is served from the store alone", async () => {
    const refused = await kit(["pull", `famiglia@${kitDigest}`, "--referrers"], "s1");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("attachments are stored with kits pulled from a registry");
  });
});
