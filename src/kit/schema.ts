/**
 * The kit manifest v1 schema: the single source of truth for what `kit.yaml`
 * may contain. The JSON Schema (`kit schema`) and the TypeScript types are
 * generated from it; spec/kit-manifest-v1.md describes it in prose.
 */
// zod/mini: the same validator with a tree-shakable API; the classic API costs ~60 ms more at every start-up.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { parseReference } from "../oras/content.js";
import { KIT_NAME_PATTERN, MAX_KIT_NAME_LENGTH } from "./format.js";

// zod/mini ships no messages; the English ones (what zod's classic API uses) word the few we do not write ourselves.
z.config(en());

/** The schema's identity, also written as `$id` in the JSON Schema. */
export const KIT_MANIFEST_SCHEMA_ID = "https://aegis.dev/schemas/kit-manifest-v1.schema.json";

// SemVer 2.0.0, exactly as semver.org defines it (no leading "v").
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
// A host name, optionally a `*.` wildcard as the whole first label, optionally `:port`.
const EGRESS = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*(?::[0-9]{1,5})?$`);

const imageReference = z.string({ error: "must be a string" }).check(
  z.minLength(1, "must not be empty"),
  z.superRefine((value, ctx) => {
    if (value.length === 0) return;
    try {
      const ref = parseReference(value);
      if (ref.tag === undefined && ref.digest === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `must include a tag or a digest, for example "${value}:1.0.0" or "${value}@sha256:…"`,
        });
      }
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `is not a valid OCI image reference: ${(err as Error).message}` });
    }
  }),
  z.describe("Default base image as an OCI reference with a tag and/or digest, e.g. ghcr.io/org/base:1.0.0."),
);

const secret = z
  .strictObject({
    name: z
      .string({ error: "must be a string" })
      .check(
        z.regex(ENV_NAME, "must be an environment variable name: uppercase letters, digits and _, not starting with a digit"),
        z.describe("Environment variable name the secret is injected as."),
      ),
    description: z.optional(z.string({ error: "must be a string" }).check(z.maxLength(1024, "must be at most 1024 characters"))),
  })
  .check(z.describe("A secret the instance receives as an environment variable."));

const secrets = z
  .strictObject({
    required: z.optional(z.array(secret, { error: "must be a list of secrets" })),
    optional: z.optional(z.array(secret, { error: "must be a list of secrets" })),
  })
  .check(
    z.superRefine((value, ctx) => {
      const seen = new Map<string, string>();
      for (const group of ["required", "optional"] as const) {
        (value[group] ?? []).forEach((s, i) => {
          const first = seen.get(s.name);
          if (first !== undefined) {
            ctx.addIssue({ code: "custom", path: [group, i, "name"], message: `duplicate secret name "${s.name}" (first declared at ${first})` });
          } else {
            seen.set(s.name, `secrets.${group}[${i}]`);
          }
        });
      }
    }),
    z.describe("Secrets the kit needs (required) or can use (optional). Names are unique across both lists."),
  );

const port = z
  .strictObject({
    port: z
      .int({ error: "must be an integer" })
      .check(z.gte(1, "must be between 1 and 65535"), z.lte(65535, "must be between 1 and 65535"), z.describe("Guest port number.")),
    protocol: z._default(
      z.enum(["tcp", "udp"], { error: 'must be "tcp" or "udp"' }).check(z.describe("Transport protocol; default tcp.")),
      "tcp",
    ),
  })
  .check(z.describe("A port the guest exposes through the Aegis router."));

const exposes = z.array(port, { error: "must be a list of ports" }).check(
  z.superRefine((ports, ctx) => {
    const seen = new Map<string, number>();
    ports.forEach((p, i) => {
      const key = `${p.port}/${p.protocol}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: [i, "port"], message: `duplicate port ${key} (first declared at exposes[${first}])` });
      } else {
        seen.set(key, i);
      }
    });
  }),
  z.describe("Ports exposed by default; unique per protocol."),
);

const positiveInt = (what: string) =>
  z.optional(z.int({ error: "must be a positive integer" }).check(z.positive("must be a positive integer"), z.describe(what)));

const resources = z
  .strictObject({
    memory_mb: positiveInt("Default memory in MiB."),
    vcpus: positiveInt("Default number of virtual CPUs."),
    max_memory_mb: positiveInt("Largest memory in MiB an instance may request."),
    max_vcpus: positiveInt("Largest number of virtual CPUs an instance may request."),
  })
  .check(
    z.superRefine((r, ctx) => {
      if (r.memory_mb !== undefined && r.max_memory_mb !== undefined && r.memory_mb > r.max_memory_mb) {
        ctx.addIssue({ code: "custom", path: ["memory_mb"], message: `must be <= max_memory_mb (${r.max_memory_mb})` });
      }
      if (r.vcpus !== undefined && r.max_vcpus !== undefined && r.vcpus > r.max_vcpus) {
        ctx.addIssue({ code: "custom", path: ["vcpus"], message: `must be <= max_vcpus (${r.max_vcpus})` });
      }
    }),
    z.describe("Resource defaults and maximums; a default never exceeds its maximum."),
  );

const egressHost = z.string({ error: "must be a string" }).check(
  z.maxLength(259, "must be a host name of at most 253 characters plus an optional :port"),
  z.superRefine((value, ctx) => {
    const problem = egressProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  // The pattern is for editors reading the JSON Schema; the refinement gives the precise message.
  z.meta({ pattern: EGRESS.source }),
  z.describe("A host name (optionally *.wildcard as the whole first label) with an optional :port; no scheme, no path."),
);

const egress = z.array(egressHost, { error: "must be a list of host names" }).check(
  z.superRefine((hosts, ctx) => {
    const seen = new Map<string, number>();
    hosts.forEach((h, i) => {
      const first = seen.get(h);
      if (first !== undefined) ctx.addIssue({ code: "custom", path: [i], message: `duplicate egress host "${h}" (first at egress[${first}])` });
      else seen.set(h, i);
    });
  }),
  z.describe("Outbound hosts the kit expects to reach. Hints: Aegis owns enforcement."),
);

export const KitManifestSchema = z
  .strictObject({
    name: z
      .string({ error: "must be a string" })
      .check(
        z.minLength(1, "must not be empty"),
        z.maxLength(MAX_KIT_NAME_LENGTH, `must be at most ${MAX_KIT_NAME_LENGTH} characters`),
        z.regex(KIT_NAME_PATTERN, "must be lowercase letters, digits and '-', starting and ending with a letter or digit"),
        z.describe("Kit name: a lowercase DNS-label-like slug; it becomes a repository path component."),
      ),
    version: z
      .string({ error: 'must be a string (quote it: version: "1.0.0")' })
      .check(z.regex(SEMVER, 'must be a SemVer 2.0 version such as "1.0.0" (no leading "v")'), z.describe("Kit version, SemVer 2.0.")),
    description: z.optional(
      z.string({ error: "must be a string" }).check(z.maxLength(1024, "must be at most 1024 characters"), z.describe("One-line summary.")),
    ),
    image: imageReference,
    secrets: z.optional(secrets),
    exposes: z.optional(exposes),
    resources: z.optional(resources),
    egress: z.optional(egress),
  })
  .check(z.describe("Aegis kit manifest, version 1."));

/** A validated kit manifest (defaults applied). */
export type KitManifest = z.output<typeof KitManifestSchema>;
/** What an author may write in kit.yaml. */
export type KitManifestInput = z.input<typeof KitManifestSchema>;

function egressProblem(value: string): string | undefined {
  if (value.includes("://")) return "must be a host name without a scheme (drop \"http://\" or \"https://\")";
  if (value.includes("/")) return "must be a host name without a path";
  if (value !== value.toLowerCase()) return "must be lowercase";
  if (value.includes("*") && !value.startsWith("*.")) return 'may use "*" only as the whole first label, as in "*.example.com"';
  if (!EGRESS.test(value)) return "must be a host name such as api.example.com or *.example.com, with an optional :port";
  const colon = value.lastIndexOf(":");
  const host = colon >= 0 ? value.slice(0, colon) : value;
  if (host.length > 253) return "must be a host name of at most 253 characters";
  if (colon >= 0) {
    const port = Number(value.slice(colon + 1));
    if (port < 1 || port > 65535) return "port must be between 1 and 65535";
  }
  return undefined;
}

/**
 * The JSON Schema of what an author may write (zod's input side: fields with
 * defaults are optional). `spec/kit-manifest-v1.schema.json` is this output.
 */
export function kitManifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(KitManifestSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: KIT_MANIFEST_SCHEMA_ID, title: "Aegis kit manifest v1", ...rest };
}
