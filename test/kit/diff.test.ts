import { describe, expect, it } from "vitest";
import { diffKits, type DiffableKit, type KitChange } from "../../src/kit/diff.js";
import { parseKitManifest } from "../../src/kit/load.js";

const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

function kit(overrides: Partial<DiffableKit> = {}): DiffableKit {
  return {
    name: "famiglia",
    version: "1.0.0",
    image: "ghcr.io/org/base:1.0",
    secrets: { required: [{ name: "API_KEY" }], optional: [{ name: "EXTRA", description: "extra key" }] },
    exposes: [{ port: 8080, protocol: "tcp" }],
    resources: { memory_mb: 1024, vcpus: 1, max_memory_mb: 4096, max_vcpus: 4 },
    egress: ["api.example.com"],
    ...overrides,
  };
}

/** The changes without the fields a test does not look at. */
function only(changes: KitChange[], path: string): KitChange[] {
  return changes.filter((c) => c.path === path || c.path.startsWith(`${path}.`) || c.path.startsWith(`${path}[`));
}

describe("diffKits", () => {
  it("finds nothing between equal kits", () => {
    expect(diffKits(kit(), kit())).toEqual({ identical: true, breaking: false, review: false, changes: [] });
  });

  it("compares kits after defaults: a port written without protocol equals the same port with tcp", () => {
    const a = parseKitManifest(Buffer.from('name: x\nversion: "1.0.0"\nimage: a/b:1\nexposes: [{port: 80}]\n'));
    const b = parseKitManifest(Buffer.from('# same kit, other spelling\nname: x\nversion: "1.0.0"\nimage: "a/b:1"\nexposes:\n  - port: 80\n    protocol: tcp\n'));
    expect(diffKits(a, b).identical).toBe(true);
  });

  it("treats an absent list like an empty one", () => {
    expect(diffKits(kit({ egress: [], secrets: {} }), kit({ egress: undefined, secrets: undefined })).identical).toBe(true);
  });

  describe("name, version, description", () => {
    it("marks a renamed kit breaking: deployments name kits by name", () => {
      const [change] = diffKits(kit(), kit({ name: "famiglia-two" })).changes;
      expect(change).toEqual({ path: "name", change: "changed", from: "famiglia", to: "famiglia-two", breaking: true, review: false, reason: expect.any(String) });
    });

    it("reports a version change as information", () => {
      const diff = diffKits(kit(), kit({ version: "2.0.0" }));
      expect(diff.changes).toEqual([{ path: "version", change: "changed", from: "1.0.0", to: "2.0.0", breaking: false, review: false }]);
      expect(diff).toMatchObject({ identical: false, breaking: false, review: false });
    });

    it("reports a description added, changed and removed", () => {
      expect(diffKits(kit(), kit({ description: "new" })).changes).toEqual([
        { path: "description", change: "added", from: null, to: "new", breaking: false, review: false },
      ]);
      expect(diffKits(kit({ description: "old" }), kit({ description: "new" })).changes[0]).toMatchObject({ change: "changed", from: "old", to: "new" });
      expect(diffKits(kit({ description: "old" }), kit()).changes[0]).toMatchObject({ change: "removed", from: "old", to: null });
    });
  });

  describe("image", () => {
    it("says when the pinned digest changed under the same tag, without asking for review", () => {
      const [change] = diffKits(kit({ image: `ghcr.io/org/base:1.0@${DIGEST_A}` }), kit({ image: `ghcr.io/org/base:1.0@${DIGEST_B}` })).changes;
      expect(change).toMatchObject({ path: "image", change: "changed", digestChanged: true, breaking: false, review: false });
    });

    it("is no change when only one side knows the digest (a directory is pinned when pushed)", () => {
      expect(diffKits(kit({ image: `ghcr.io/org/base:1.0@${DIGEST_A}` }), kit({ image: "ghcr.io/org/base:1.0" })).identical).toBe(true);
    });

    it("normalises Docker Hub names", () => {
      expect(diffKits(kit({ image: "ubuntu:24.04" }), kit({ image: "docker.io/library/ubuntu:24.04" })).identical).toBe(true);
    });

    it("reports a new tag, with digestChanged null when a side has no digest and false when both digests match", () => {
      expect(diffKits(kit(), kit({ image: "ghcr.io/org/base:1.1" })).changes).toEqual([
        { path: "image", change: "changed", from: "ghcr.io/org/base:1.0", to: "ghcr.io/org/base:1.1", digestChanged: null, breaking: false, review: false },
      ]);
      const retagged = diffKits(kit({ image: `ghcr.io/org/base:1.0@${DIGEST_A}` }), kit({ image: `ghcr.io/org/base:latest@${DIGEST_A}` }));
      expect(retagged.changes[0]).toMatchObject({ digestChanged: false, review: false });
    });

    it("asks for review when the image comes from another repository or registry", () => {
      for (const image of ["ghcr.io/other/base:1.0", "quay.io/org/base:1.0"]) {
        const [change] = diffKits(kit(), kit({ image })).changes;
        expect(change).toMatchObject({ path: "image", review: true, breaking: false, reason: expect.stringContaining("repository") });
      }
    });
  });

  describe("secrets", () => {
    it("marks a new required secret breaking and a new optional one not", () => {
      const diff = diffKits(kit(), kit({ secrets: { required: [{ name: "API_KEY" }, { name: "DB_URL" }], optional: [{ name: "EXTRA", description: "extra key" }, { name: "TRACE" }] } }));
      expect(diff.changes).toEqual([
        { path: "secrets.required", change: "added", item: "DB_URL", breaking: true, review: false, reason: expect.stringContaining("required") },
        { path: "secrets.optional", change: "added", item: "TRACE", breaking: false, review: false },
      ]);
      expect(diff.breaking).toBe(true);
    });

    it("reports removed secrets without marking them breaking", () => {
      const diff = diffKits(kit(), kit({ secrets: {} }));
      expect(diff.changes).toEqual([
        { path: "secrets.required", change: "removed", item: "API_KEY", breaking: false, review: false },
        { path: "secrets.optional", change: "removed", item: "EXTRA", breaking: false, review: false },
      ]);
      expect(diff.breaking).toBe(false);
    });

    it("marks an optional secret becoming required breaking, and the reverse not", () => {
      const promoted = diffKits(kit(), kit({ secrets: { required: [{ name: "API_KEY" }, { name: "EXTRA", description: "extra key" }] } }));
      expect(promoted.changes).toEqual([
        { path: "secrets.required", change: "moved", item: "EXTRA", from: "secrets.optional", to: "secrets.required", breaking: true, review: false, reason: expect.any(String) },
      ]);
      const demoted = diffKits(kit(), kit({ secrets: { optional: [{ name: "API_KEY" }, { name: "EXTRA", description: "extra key" }] } }));
      expect(demoted.changes).toEqual([
        { path: "secrets.optional", change: "moved", item: "API_KEY", from: "secrets.required", to: "secrets.optional", breaking: false, review: false },
      ]);
    });

    it("reports a changed description under the secret's new list", () => {
      const diff = diffKits(kit(), kit({ secrets: { required: [{ name: "API_KEY", description: "now documented" }, { name: "EXTRA", description: "renamed" }] } }));
      expect(only(diff.changes, "secrets.required")).toEqual([
        { path: "secrets.required[API_KEY].description", change: "added", from: null, to: "now documented", breaking: false, review: false },
        expect.objectContaining({ change: "moved", item: "EXTRA" }),
        { path: "secrets.required[EXTRA].description", change: "changed", from: "extra key", to: "renamed", breaking: false, review: false },
      ]);
    });
  });

  describe("exposes", () => {
    it("marks a removed port breaking and an added one not, sorted by port number", () => {
      const diff = diffKits(kit({ exposes: [{ port: 8080, protocol: "tcp" }, { port: 10000, protocol: "tcp" }] }), kit({ exposes: [{ port: 9090, protocol: "tcp" }, { port: 10000, protocol: "tcp" }] }));
      expect(diff.changes).toEqual([
        { path: "exposes", change: "removed", item: "8080/tcp", breaking: true, review: false, reason: expect.any(String) },
        { path: "exposes", change: "added", item: "9090/tcp", breaking: false, review: false },
      ]);
    });

    it("sees a protocol change as one port removed and another added", () => {
      const diff = diffKits(kit(), kit({ exposes: [{ port: 8080, protocol: "udp" }] }));
      expect(diff.changes.map((c) => [c.change, c.item, c.breaking])).toEqual([
        ["removed", "8080/tcp", true],
        ["added", "8080/udp", false],
      ]);
    });
  });

  describe("resources", () => {
    const resources = (r: NonNullable<DiffableKit["resources"]>) => kit({ resources: r });

    it("marks a lowered maximum breaking and a raised one not", () => {
      const lowered = diffKits(kit(), resources({ memory_mb: 1024, vcpus: 1, max_memory_mb: 2048, max_vcpus: 4 }));
      expect(lowered.changes).toEqual([
        { path: "resources.max_memory_mb", change: "changed", from: 4096, to: 2048, breaking: true, review: false, reason: expect.stringContaining("maximum") },
      ]);
      const raised = diffKits(kit(), resources({ memory_mb: 1024, vcpus: 1, max_memory_mb: 4096, max_vcpus: 8 }));
      expect(raised.changes).toEqual([{ path: "resources.max_vcpus", change: "changed", from: 4, to: 8, breaking: false, review: false }]);
    });

    it("marks a new maximum breaking (there was no limit) and a dropped one not", () => {
      expect(diffKits(resources({ vcpus: 1 }), resources({ vcpus: 1, max_vcpus: 2 })).changes).toEqual([
        { path: "resources.max_vcpus", change: "added", from: null, to: 2, breaking: true, review: false, reason: expect.any(String) },
      ]);
      expect(diffKits(resources({ vcpus: 1, max_vcpus: 2 }), resources({ vcpus: 1 })).changes).toEqual([
        { path: "resources.max_vcpus", change: "removed", from: 2, to: null, breaking: false, review: false },
      ]);
    });

    it("reports changed defaults as information (deployments keep what they asked for)", () => {
      const diff = diffKits(kit(), resources({ memory_mb: 2048, vcpus: 2, max_memory_mb: 4096, max_vcpus: 4 }));
      expect(diff.changes.map((c) => [c.path, c.from, c.to, c.breaking])).toEqual([
        ["resources.memory_mb", 1024, 2048, false],
        ["resources.vcpus", 1, 2, false],
      ]);
    });
  });

  describe("egress", () => {
    it("flags a new host for review and reports a dropped one plainly", () => {
      const diff = diffKits(kit(), kit({ egress: ["*.example.com", "uploads.example.net:8443"] }));
      expect(diff.changes).toEqual([
        { path: "egress", change: "added", item: "*.example.com", breaking: false, review: true, reason: expect.stringContaining("new host") },
        { path: "egress", change: "removed", item: "api.example.com", breaking: false, review: false },
        { path: "egress", change: "added", item: "uploads.example.net:8443", breaking: false, review: true, reason: expect.any(String) },
      ]);
      expect(diff).toMatchObject({ breaking: false, review: true });
    });

    it("ignores the order hosts are listed in", () => {
      expect(diffKits(kit({ egress: ["a.example.com", "b.example.com"] }), kit({ egress: ["b.example.com", "a.example.com"] })).identical).toBe(true);
    });
  });

  it("lists changes in kit.yaml order", () => {
    const diff = diffKits(
      kit(),
      kit({ name: "other", version: "2.0.0", description: "d", image: "ghcr.io/org/base:2.0", secrets: {}, exposes: [], resources: {}, egress: [] }),
    );
    const order = ["name", "version", "description", "image", "secrets", "exposes", "resources", "egress"];
    const ranks = diff.changes.map((c) => order.findIndex((field) => c.path === field || c.path.startsWith(`${field}.`)));
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect(new Set(ranks).size).toBe(order.length);
  });
});
