/**
 * Fuzzing kit.yaml loading (src/kit/load.ts), the kit config reader and
 * kit's own config file (src/kit/config.ts): any bytes give a kit (or
 * settings) or located issues (parseKitManifest: a KitValidationError),
 * never a stray exception, within the time bound; alias bombs, deep nesting
 * and huge flat documents included. A kit written out as YAML loads back as
 * the same kit.
 */
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { checkConfigFile, settingsFrom } from "../../src/kit/config.js";
import { checkKitManifest, KitValidationError, parseKitManifest } from "../../src/kit/load.js";
import { MAX_KIT_FILE_BYTES, MAX_KIT_YAML_DEPTH } from "../../src/kit/limits.js";
import type { KitManifestInput } from "../../src/kit/schema.js";
import { parseKitConfig } from "../../src/kit/verify-artifact.js";
import { bounded, fc, fuzzParams, fuzzTimeout } from "../support/fuzz.js";

const never = () => false;
const VALID = 'name: famiglia\nversion: "1.0.0"\nimage: ghcr.io/kit/base:1\n';

/** Pieces of YAML syntax, glued at random: most land in the parser's odd corners. */
const fragment = fc.constantFrom(
  "name: ", "version: ", "image: ", "egress:", "__proto__: ", "constructor: ", "exposes:", "secrets:", "required:", "resources:", "memory_mb: ",
  "x", "1", '"1.0.0"', "ghcr.io/a/b:1", "\n", "  ", "\t", "\r\n", "- ", "-", "[", "]", "{", "}", ", ", ": ", ":", "? ",
  "&a ", "*a", "&b ", "*b", "<<: *a", "!!str ", "!!map ", "!x ", "'", '"', "\\", "# c", "|", ">-", "---", "...", "%YAML 1.2", "%TAG ! x",
  "~", "null", "true", "0x1F", ".inf", "\u00a0", "\ufeff", "\u2028",
);
const yamlSoup = fc.array(fragment, { maxLength: 60 }).map((parts) => parts.join(""));

/** A billion-laughs document: each level lists the previous one `width` times. */
const aliasBomb = fc.tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }), fc.boolean()).map(([width, depth, flow]) => {
  const lines = [`l0: &l0 "lol"`];
  for (let i = 1; i <= depth; i++) {
    const items = Array.from({ length: width }, () => `*l${i - 1}`);
    lines.push(flow ? `l${i}: &l${i} [${items.join(", ")}]` : `l${i}: &l${i}\n${items.map((a) => `  - ${a}`).join("\n")}`);
  }
  return `${VALID}${lines.join("\n")}\n`;
});

/** Nesting of one shape, up to what fits in the byte limit. */
const deepNesting = fc
  .tuple(
    fc.constantFrom(
      (n: number) => `egress: ${"[".repeat(n)}${"]".repeat(n)}`,
      (n: number) => `egress: ${"[".repeat(n)}`,
      (n: number) => `resources: ${"{a: ".repeat(n)}1${"}".repeat(n)}`,
      (n: number) => `egress:\n${"- ".repeat(n)}x`,
      (n: number) => `egress:\n${Array.from({ length: Math.min(n, 1400) }, (_, i) => `${" ".repeat(i)}a:`).join("\n")}`,
      (n: number) => `egress: ${"- [".repeat(n)}`,
      (n: number) => `egress: ${"? ".repeat(n)}`,
      (n: number) => `egress: ${"&a [".repeat(n)}`,
    ),
    fc.integer({ min: MAX_KIT_YAML_DEPTH - 4, max: 100_000 }),
  )
  .map(([shape, n]) => `${VALID}${shape(n)}\n`.slice(0, MAX_KIT_FILE_BYTES));

/** Documents flat but big: many keys (the parser's duplicate check is quadratic), items, aliases or lines. */
const hugeFlat = fc
  .tuple(
    fc.constantFrom(
      (n: number) => Array.from({ length: n }, (_, i) => `k${i}: v`).join("\n"),
      (n: number) => `egress:\n${"  - a.example.com\n".repeat(n)}`,
      (n: number) => `egress: [${"a,".repeat(n)}]`,
      (n: number) => `a: &a x\n${Array.from({ length: n }, (_, i) => `b${i}: *a`).join("\n")}`,
      (n: number) => "#\n".repeat(n),
      (n: number) => `description: "${"x".repeat(n * 10)}"`,
    ),
    fc.integer({ min: 500, max: 30_000 }),
  )
  .map(([shape, n]) => `${VALID}${shape(n)}\n`.slice(0, MAX_KIT_FILE_BYTES));

const kitText = fc.oneof(
  { weight: 3, arbitrary: yamlSoup },
  { weight: 2, arbitrary: yamlSoup.map((s) => VALID + s) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: aliasBomb },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: hugeFlat },
);

function isKitIssueError(err: unknown): boolean {
  return err instanceof KitValidationError && err.issues.length > 0;
}

describe("fuzzing kit.yaml", () => {
  it(
    "any bytes give a kit or located issues, within the time bound",
    () => {
      fc.assert(
        fc.property(kitText, (text) => {
          const bytes = Buffer.from(text);
          const checked = bounded(() => checkKitManifest(bytes), never);
          if (!checked.ok) return;
          const { value, issues } = checked.value;
          expect(value === undefined).toBe(issues.length > 0);
          for (const issue of issues) {
            expect(issue.line).toBeGreaterThanOrEqual(0);
            expect(issue.message.length).toBeLessThan(2000);
          }
          bounded(() => parseKitManifest(bytes, "kit.yaml"), isKitIssueError);
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeout(),
  );

  it("refuses deep nesting and huge flat documents quickly, naming the limit (minimal counterexamples)", () => {
    const cases: Array<[string, RegExp]> = [
      [`${VALID}egress: ${"[".repeat(100_000)}`, /nested more than 32 levels/],
      [`${VALID}egress:\n${"- ".repeat(100_000)}x\n`, /nested more than 32 levels/],
      // 150,000 keys took minutes in the parser (its duplicate-key check is quadratic).
      [`${VALID}${Array.from({ length: 150_000 }, (_, i) => `k${i}: v`).join("\n")}`.slice(0, MAX_KIT_FILE_BYTES), /more than 10000 YAML tokens/],
    ];
    for (const [text, message] of cases) {
      const out = bounded(() => checkKitManifest(Buffer.from(text)), never);
      expect(out.ok && out.value.issues).toEqual([expect.objectContaining({ path: "", message: expect.stringMatching(message) })]);
    }
    // Within the token budget, 1,400 unknown keys were quadratic in the issue locator (488 ms for 1,000).
    const unknown = bounded(() => checkKitManifest(Buffer.from(`${VALID}${Array.from({ length: 1400 }, (_, i) => `k${i}: v`).join("\n")}`)), never);
    expect(unknown.ok && unknown.value.issues).toHaveLength(1400);
  });

  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
  const kit: fc.Arbitrary<KitManifestInput> = fc.record(
    {
      name: label,
      version: fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99), fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { nil: undefined })).map(
        ([a, b, c, pre]) => `${a}.${b}.${c}${pre === undefined ? "" : `-${pre}`}`,
      ),
      description: fc.string({ unit: "binary", maxLength: 100 }),
      image: fc.tuple(label, label, fc.stringMatching(/^\w[\w.-]{0,20}$/)).map(([h, r, t]) => `${h}.io/${r}:${t}`),
      secrets: fc.record(
        {
          required: fc.uniqueArray(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/), { maxLength: 3 }).map((ns) => ns.map((name) => ({ name }))),
        },
        { requiredKeys: [] },
      ),
      exposes: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 }).map((ps) => ps.map((port) => ({ port, protocol: "tcp" as const }))),
      resources: fc.record({ memory_mb: fc.integer({ min: 1, max: 1024 }), vcpus: fc.integer({ min: 1, max: 4 }) }, { requiredKeys: [] }),
      egress: fc.uniqueArray(fc.tuple(label, fc.constantFrom("com", "io")).map(([l, t]) => `${l}.${t}`), { maxLength: 4 }),
    },
    { requiredKeys: ["name", "version", "image"] },
  );

  it(
    "a kit written out as YAML loads back as the same kit",
    () => {
      fc.assert(
        fc.property(kit, (manifest) => {
          const loaded = bounded(() => parseKitManifest(Buffer.from(stringify(manifest)), "kit.yaml"));
          expect(loaded.ok && loaded.value).toEqual(manifest);
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeout(),
  );

  it(
    "the config file gives settings or located issues, within the time bound",
    () => {
      const piece = fc.constantFrom(
        "registries:", "\n  ", "\n    ", "ghcr.io: ", '"m.local:5000": ', "index.docker.io: ", "mirrors: ", "pull_from_mirror: ", "fallback: ", "plain_http: ",
        "insecure: ", "[m.local:5000/airgap]", "- ", "m.local/a/b", "http://m/x", "digest-only", "tag-only", "true", "false", "{", "}", "[", "]", ", ", ": ",
        "&a ", "*a", "x", "\n", "# c",
      );
      const text = fc.oneof(fc.array(piece, { maxLength: 60 }).map((p) => p.join("")), { weight: 1, arbitrary: hugeFlat }, { weight: 1, arbitrary: deepNesting });
      fc.assert(
        fc.property(text, (t) => {
          const checked = bounded(() => checkConfigFile(Buffer.from(t)), never);
          if (!checked.ok) return;
          const { value, issues } = checked.value;
          expect(value === undefined).toBe(issues.length > 0);
          if (value !== undefined) bounded(() => settingsFrom(value, "kit-config.yaml"), never);
        }),
        fuzzParams(150),
      );
    },
    fuzzTimeout(),
  );

  it(
    "the kit config reader returns a kit or a typed error, within the time bound",
    () => {
      const config = fc.oneof(
        kit.map((k) => JSON.stringify(k)),
        fc.json({ maxDepth: 4 }),
        fc.integer({ min: 100, max: 50_000 }).map((n) => `{"name":${"[".repeat(n)}${"]".repeat(n)}}`),
        fc.string({ unit: "binary", maxLength: 100 }),
      );
      fc.assert(
        fc.property(config, (text) => {
          bounded(() => parseKitConfig(Buffer.from(text), "kit"));
        }),
        fuzzParams(300),
      );
    },
    fuzzTimeout(),
  );
});
