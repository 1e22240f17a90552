/**
 * Kit references parsed once into a KitReference, and the one resolution of
 * a store reference that pull and inspect share (on a real local store).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildKitArtifact, type KitArtifact } from "../../src/kit/artifact.js";
import { inspectKit } from "../../src/kit/inspect.js";
import { parseKitManifest } from "../../src/kit/load.js";
import { pullKit } from "../../src/kit/pull.js";
import { formatKitReference, parseKitReference } from "../../src/kit/reference.js";
import { KitStore } from "../../src/kit/store.js";
import { InvalidReferenceError, NotFoundError, UsageError } from "../../src/oras/errors.js";

const digest = `sha256:${"c".repeat(64)}`;

describe("parseKitReference", () => {
  it("tells store, registry and layout references apart", () => {
    expect(parseKitReference("famiglia")).toEqual({ kind: "store", name: "famiglia" });
    expect(parseKitReference(`famiglia:1.0.0@${digest}`)).toEqual({ kind: "store", name: "famiglia", tag: "1.0.0", digest });
    expect(parseKitReference("ghcr.io/org/famiglia-kit:1.0.0")).toEqual({ kind: "registry", registry: "ghcr.io", repository: "org/famiglia-kit", tag: "1.0.0" });
    expect(parseKitReference("library/famiglia")).toEqual({ kind: "registry", registry: "docker.io", repository: "library/famiglia" });
    expect(parseKitReference(`oci:/tmp/kits@${digest}`)).toEqual({ kind: "layout", path: "/tmp/kits", digest });
    expect(parseKitReference("oci:kits:1.0.0")).toEqual({ kind: "layout", path: "kits", tag: "1.0.0" });
  });

  it("fails a short-looking reference with the registry parser's message", () => {
    expect(() => parseKitReference("famiglia@sha256:abc")).toThrow(/invalid sha256 digest/);
    expect(() => parseKitReference("famiglia:.x")).toThrow(/invalid tag "\.x"/);
    expect(() => parseKitReference("Famiglia")).toThrow(InvalidReferenceError);
  });

  it("reads Helm's oci://HOST/REPO as the registry reference, and never takes a URL as a layout path", () => {
    expect(parseKitReference("oci://127.0.0.1:5101/org/my-kit:1.0.0")).toEqual({ kind: "registry", registry: "127.0.0.1:5101", repository: "org/my-kit", tag: "1.0.0" });
    expect(() => parseKitReference("oci://my-kit:1.0.0")).toThrow(/oci:\/\/ must be followed by a registry host/);
    expect(() => parseKitReference("https://ghcr.io/org/kit:1")).toThrow(/a reference has no URL scheme; write ghcr.io\/org\/kit:1/);
  });

  it("formats back to the text it parsed", () => {
    for (const text of ["famiglia", "famiglia:1.0.0", `famiglia@${digest}`, "ghcr.io/org/famiglia-kit:1.0.0", `oci:/tmp/kits@${digest}`]) {
      expect(formatKitReference(parseKitReference(text))).toBe(text);
    }
  });
});

describe("pull and inspect resolve a store reference the same way", () => {
  const image = `ghcr.io/kit/base:latest@sha256:${"b".repeat(64)}`;
  const kit = (version: string): KitArtifact => {
    const yaml = Buffer.from(`name: famiglia\nversion: "${version}"\nimage: ghcr.io/kit/base:latest\n`);
    return buildKitArtifact({ manifest: parseKitManifest(yaml), kitYaml: yaml, readme: Buffer.from(`# ${version}\n`), pinnedImage: image });
  };
  let work: string;
  let store: KitStore;
  let v1: KitArtifact;
  let v2: KitArtifact;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "kit-reference-"));
    store = await KitStore.open(join(work, "store"));
    [v1, v2] = [kit("1.0.0"), kit("1.1.0")];
    await store.add(v1, v1.kit, ["ghcr.io/org/famiglia-kit:1.0.0", "ghcr.io/org/famiglia-kit:latest"]);
    await store.add(v2, v2.kit, ["ghcr.io/org/famiglia-kit:1.1.0"]);
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  // Each as text and as the parsed value.
  const both = (reference: string) => [
    pullKit(reference, { store }),
    pullKit(parseKitReference(reference), { store }),
    inspectKit(reference, { store }),
    inspectKit(parseKitReference(reference), { store }),
  ];

  it("both refuse a name that matches two kits, naming every entry", async () => {
    const errors = await Promise.all(both("famiglia").map((p) => p.catch((e: unknown) => e)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/^kit famiglia is ambiguous in the local store: /);
      expect((err as Error).message).toContain(`ghcr.io/org/famiglia-kit:1.1.0 (${v2.manifest.descriptor.digest})`);
    }
    expect(new Set(errors.map((e) => (e as Error).message)).size).toBe(1);
  });

  it("both take a name whose entries are one kit, and a name with a tag", async () => {
    const v1Digest = v1.manifest.descriptor.digest;
    await store.remove("famiglia:1.1.0");
    const [pulled, inspected] = await Promise.all([pullKit("famiglia", { store }), inspectKit("famiglia", { store })]);
    expect(pulled.digest).toBe(v1Digest);
    expect(inspected.digest).toBe(v1Digest);
    expect(inspected.reference).toBe(pulled.reference);
    expect(pulled.reference).toBe(`ghcr.io/org/famiglia-kit@${v1Digest}`);
  });

  it("both pick the kit a tag names and report the same reference", async () => {
    const results = await Promise.all(both("famiglia:1.1.0"));
    for (const r of results) expect(r).toMatchObject({ digest: v2.manifest.descriptor.digest, reference: `ghcr.io/org/famiglia-kit@${v2.manifest.descriptor.digest}` });
  });

  it("both say the local store is empty when there is none, and create nothing", async () => {
    const missing = join(work, "no-store");
    const errors = await Promise.all(
      [pullKit("famiglia:1.0.0", { store: missing }), inspectKit("famiglia:1.0.0", { store: missing })].map((p) => p.catch((e: unknown) => e)),
    );
    for (const err of errors) {
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toBe(`kit famiglia:1.0.0 is not in the local store: the local store ${missing} is empty`);
    }
    expect(existsSync(missing)).toBe(false);
  });

  it("both say what is known when nothing matches", async () => {
    const errors = await Promise.all(both("famiglia:9.9.9").map((p) => p.catch((e: unknown) => e)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toBe(
        'kit famiglia:9.9.9 is not in the local store; known references for "famiglia": ghcr.io/org/famiglia-kit:1.0.0, ghcr.io/org/famiglia-kit:1.1.0, ghcr.io/org/famiglia-kit:latest',
      );
    }
  });
});
