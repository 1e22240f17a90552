/**
 * Fuzzing Docker config parsing (src/oras/remote/auth/docker-config.ts): any
 * config.json content gives a credential, none, or a typed error, for lookup,
 * store and erase alike, within the time bound; a store keeps every other key
 * and the stored credential reads back.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eraseDockerCredential, lookupDockerCredential, registryOfConfigKey, storeDockerCredential } from "../../src/oras/remote/auth/docker-config.js";
import { boundedAsync, bounded, fc, fuzzParams, fuzzTimeout } from "../support/fuzz.js";

let dir: string;
let configPath: string;
/** No credential helper can be found: a fuzzed credsStore must not run anything. */
const env = { PATH: "/nonexistent", HOME: "/nonexistent" };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "kit-fuzz-docker-"));
  configPath = path.join(dir, "config.json");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hosts = fc.constantFrom("ghcr.io", "__proto__", "constructor", "localhost:5000", "docker.io", "https://index.docker.io/v1/", "HTTPS://GHCR.IO/x", "", "a:b:c");
const entry = fc.oneof(
  fc.record(
    {
      auth: fc.oneof(fc.base64String({ maxLength: 24 }), fc.string({ maxLength: 12 }), fc.constant(Buffer.from("u:p").toString("base64"))),
      username: fc.string({ maxLength: 8 }),
      password: fc.string({ maxLength: 8 }),
      identitytoken: fc.string({ maxLength: 8 }),
      registrytoken: fc.string({ maxLength: 8 }),
      email: fc.string({ maxLength: 8 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const config = fc.oneof(
  { weight: 4, arbitrary: fc.record({ auths: fc.dictionary(hosts, entry, { maxKeys: 3 }), credsStore: fc.constantFrom(undefined, "", "nothere"), other: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }).map((c) => JSON.stringify(c)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 100_000 }).map((n) => `{"auths":${"[".repeat(n)}${"]".repeat(n)}}`) },
);

describe("fuzzing the Docker config", () => {
  it(
    "any config gives a credential, none, or a typed error, within the time bound",
    async () => {
      await fc.assert(
        fc.asyncProperty(config, hosts, async (text, host) => {
          await writeFile(configPath, text);
          bounded(() => registryOfConfigKey(host), () => false);
          const registry = registryOfConfigKey(host) || "ghcr.io";
          await boundedAsync(() => lookupDockerCredential(registry, { configPath, env }));
          await boundedAsync(() => eraseDockerCredential(registry, { configPath, env }));
          await writeFile(configPath, text);
          const stored = await boundedAsync(() => storeDockerCredential(registry, { username: "user", password: "pa:ss" }, { configPath, env }));
          if (!stored.ok) return;
          expect(await lookupDockerCredential(registry, { configPath, env })).toEqual({ username: "user", password: "pa:ss" });
          // Every other top-level key is kept.
          const before: Record<string, unknown> = text.trim() === "" ? {} : JSON.parse(text);
          const after = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
          for (const key of Object.keys(before)) if (key !== "auths") expect(after[key]).toEqual(before[key]);
        }),
        fuzzParams(150),
      );
    },
    fuzzTimeout(),
  );

  // It used to fail writing (a stack overflow in JSON.stringify, reported as an I/O error) after the read had accepted it.
  it("a config nested deeper than the JSON limit is refused as invalid content (minimal counterexample)", async () => {
    await writeFile(configPath, `{"proxies":${"[".repeat(20_000)}${"]".repeat(20_000)}}`);
    await expect(storeDockerCredential("ghcr.io", { username: "u", password: "p" }, { configPath, env })).rejects.toThrow(/nested deeper than 64 levels/);
  });
});
