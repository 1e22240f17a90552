/** A name without a registry host means Docker Hub; every error about one says the name it expanded to. */
import { describe, expect, it } from "vitest";
import { sayingExpandedNames } from "../../src/cli/implied-registry.js";
import { parseKitReference } from "../../src/kit/reference.js";
import { NetworkError, NotFoundError, OciError } from "../../src/oras/errors.js";
import { parseTargetReference } from "../../src/oras/reference.js";

const unreachable = () => Promise.reject(new NetworkError("cannot reach registry-1.docker.io: host not found", { hint: "check the address" }));

describe("errors about an implied Docker Hub name", () => {
  it("say the expanded name of a one-word name, and that kit commands read it from the local store", async () => {
    const err = (await sayingExpandedNames([["my-kit:1.0.0", parseTargetReference("my-kit:1.0.0")]], unreachable).catch((e: unknown) => e)) as OciError;
    expect(err).toBeInstanceOf(OciError);
    expect(err.code).toBe("NETWORK");
    expect(err.message).toBe('cannot reach registry-1.docker.io: host not found ("my-kit:1.0.0" is docker.io/library/my-kit:1.0.0)');
    expect(err.hint).toBe('"my-kit:1.0.0" has no registry host, so it names Docker Hub; a kit in the local store is read with "kit inspect my-kit:1.0.0" or "kit pull my-kit:1.0.0"');
  });

  it("say the expanded name of ORG/REPO and keep the original hint", async () => {
    const err = (await sayingExpandedNames([["org/kit:1", parseKitReference("org/kit:1")]], unreachable).catch((e: unknown) => e)) as OciError;
    expect(err.message).toBe('cannot reach registry-1.docker.io: host not found ("org/kit:1" is docker.io/org/kit:1)');
    expect(err.hint).toBe("check the address");
  });

  it("leave errors alone that already name it, or whose references name their registry", async () => {
    const named = new NotFoundError("manifest docker.io/library/app:1 not found");
    await expect(sayingExpandedNames([["app:1", parseTargetReference("app:1")]], () => Promise.reject(named))).rejects.toThrow(/^manifest docker\.io\/library\/app:1 not found$/);
    const explicit = new NotFoundError("nope");
    await expect(sayingExpandedNames([["ghcr.io/org/app:1", parseTargetReference("ghcr.io/org/app:1")]], () => Promise.reject(explicit))).rejects.toBe(explicit);
    await expect(sayingExpandedNames([["famiglia", parseKitReference("famiglia")]], () => Promise.reject(explicit))).rejects.toBe(explicit);
  });
});
