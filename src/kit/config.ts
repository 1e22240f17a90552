/**
 * kit's own config file (spec/config.md): how to reach registries, and the
 * mirrors to pull them through. YAML checked against a strict zod schema
 * and reported at FILE:LINE:COL as kit.yaml is (load.ts). The document is a
 * mapping of sections so more can join `registries:` (a `trust:` policy).
 */
import path from "node:path";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import {
  fsCalls,
  NotFoundError,
  OciError,
  IoError,
  parseMirrorLocation,
  parseRegistryHost,
  PULL_FROM_MIRROR_VALUES,
  readFileBounded,
  type MirrorPolicies,
  type RegistryMirrorPolicy,
} from "../oras/content.js";
import type { RegistryHostOptions } from "../oras/remote/index.js";
import { configFileLocation, KIT_CONFIG_ENV } from "./config-path.js";
import { MAX_CONFIG_FILE_BYTES } from "./limits.js";
import { checkYamlDocument, YamlValidationError, type KitIssue, type YamlDocumentKind } from "./load.js";
import { KIT_YAML_BUDGET } from "./yaml-budget.js";
import { parseTrustPattern, trustPatternKey, type TrustPolicy, type TrustScope } from "./trust.js";
import type { ValidationReport } from "./validate.js";

const { stat } = fsCalls;

z.config(en());

const BOOLEAN = { error: "must be true or false" };

const registryHost = z.string().check(
  z.superRefine((value, ctx) => {
    if (value.includes("/")) {
      ctx.addIssue({ code: "custom", message: "must be a registry host with an optional port (ghcr.io, localhost:5000), not a URL or a path" });
      return;
    }
    try {
      parseRegistryHost(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not a registry host (a host has a \".\" or a \":PORT\", or is localhost)" });
    }
  }),
);

const mirrorLocation = z.string({ error: "must be a mirror location, HOST[:PORT][/PREFIX]" }).check(
  z.superRefine((value, ctx) => {
    try {
      parseMirrorLocation(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^invalid mirror "[^"]*": /, "") });
    }
  }),
);

const registryEntry = z
  .strictObject(
    {
      mirrors: z.optional(z.array(mirrorLocation, { error: "must be a list of mirror locations, HOST[:PORT][/PREFIX]" })),
      pull_from_mirror: z.optional(z.enum(PULL_FROM_MIRROR_VALUES, { error: 'must be one of "all", "digest-only", "tag-only"' })),
      fallback: z.optional(z.boolean(BOOLEAN)),
      plain_http: z.optional(z.boolean(BOOLEAN)),
      insecure: z.optional(z.boolean(BOOLEAN)),
    },
    { error: "must be a mapping of settings (mirrors, pull_from_mirror, fallback, plain_http, insecure)" },
  )
  .check(
    z.superRefine((entry, ctx) => {
      if ((entry.mirrors ?? []).length > 0) return;
      if (entry.fallback === false) ctx.addIssue({ code: "custom", path: ["fallback"], message: "false needs at least one mirror: nothing could be pulled from this registry" });
      if (entry.pull_from_mirror !== undefined) ctx.addIssue({ code: "custom", path: ["pull_from_mirror"], message: "has no mirrors to apply to" });
    }),
  );

const trustPattern = z.string().check(
  z.superRefine((value, ctx) => {
    try {
      parseTrustPattern(value);
    } catch (err) {
      const e = err as OciError;
      ctx.addIssue({ code: "custom", message: `${e.message.replace(/^invalid trust pattern "[^"]*": /, "")}${e.hint ? ` (${e.hint})` : ""}` });
    }
  }),
);

const keyFile = z.string({ error: "must be the path of a public key file" }).check(z.minLength(1, { error: "must be the path of a public key file" }));

const trustEntry = z
  .strictObject(
    {
      keys: z.optional(z.array(keyFile, { error: "must be a list of public key files (PEM, as cosign.pub)" })),
      signed: z.optional(z.boolean(BOOLEAN)),
    },
    { error: "must be a mapping of settings (keys, signed)" },
  )
  .check(
    z.superRefine((entry, ctx) => {
      const keys = entry.keys ?? [];
      if (entry.signed !== false && keys.length === 0) {
        ctx.addIssue({ code: "custom", path: entry.keys === undefined ? [] : ["keys"], message: "requires signatures but names no key to verify them with: list keys, or set signed: false to accept unsigned kits" });
      }
      if (entry.signed === false && keys.length > 0) ctx.addIssue({ code: "custom", path: ["keys"], message: "are not used with signed: false (kits are then accepted unchecked): remove them, or the signed: false" });
    }),
  );

/** The config file's document. */
export const ConfigFileSchema = z
  .strictObject(
    {
      registries: z.optional(z.record(registryHost, registryEntry, { error: "must be a mapping of registry hosts to their settings" })),
      trust: z.optional(z.record(trustPattern, trustEntry, { error: "must be a mapping of reference patterns to what they trust" })),
    },
    { error: "must be a mapping of sections (registries: …, trust: …)" },
  )
  .check(
    z.superRefine((doc, ctx) => {
      const patterns = new Map<string, string>();
      for (const key of Object.keys(doc.trust ?? {})) {
        const normal = trustPatternKey(parseTrustPattern(key));
        const first = patterns.get(normal);
        if (first !== undefined) ctx.addIssue({ code: "custom", path: ["trust", key], message: `is the same pattern as "${first}" (${normal})`, params: { at: "key" } });
        else patterns.set(normal, key);
      }
      // Two spellings of one registry (docker.io and index.docker.io, GHCR.io and ghcr.io) would leave which one applies to chance.
      const seen = new Map<string, string>();
      for (const key of Object.keys(doc.registries ?? {})) {
        const host = parseRegistryHost(key);
        const first = seen.get(host);
        if (first !== undefined) ctx.addIssue({ code: "custom", path: ["registries", key], message: `names the same registry as "${first}" (${host})`, params: { at: "key" } });
        else seen.set(host, key);
      }
    }),
  );

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

// An empty config file is an empty mapping: no mirrors. Its YAML is bounded as kit.yaml's is.
const CONFIG_FILE: YamlDocumentKind<ConfigFile> = {
  schema: ConfigFileSchema,
  maxBytes: MAX_CONFIG_FILE_BYTES,
  budget: { ...KIT_YAML_BUDGET, why: "a config file is a short list of registries" },
  notMapping: "the document must be a mapping of sections (registries: …, trust: …)",
  knownKeys: ["registries", "mirrors", "pull_from_mirror", "fallback", "plain_http", "insecure", "trust", "keys", "signed"],
};

/** What the config file sets, ready for the oras layer. */
export interface KitSettings {
  /** The file read; undefined when there is none (the default file does not exist). */
  file: string | undefined;
  /** Mirror policies by registry host, for pull, resolve, inspect and a copy's source. */
  mirrors: MirrorPolicies;
  /** plain_http and insecure by registry host (RemoteOptions.registries). */
  registries: ReadonlyMap<string, RegistryHostOptions>;
  /** The trust policy: which kits must be signed, by which keys; no scopes without a `trust:` section. */
  trust: TrustPolicy;
}

export class ConfigValidationError extends YamlValidationError {
  constructor(file: string, issues: KitIssue[]) {
    super(file, issues, `run "kit config check ${file}" to see every problem`);
  }
}

/**
 * Every problem in config file bytes, located; `value` is set only when
 * there are none. `keyProblem`, when given, is asked about each trust key
 * file (resolved against `dir`, the file's directory) and what it says is
 * reported at that entry: `kit config check` reads the keys, other commands
 * only when a scope applies.
 */
export function checkConfigFile(bytes: Uint8Array, opts: { dir?: string; keyProblem?: (file: string) => string | undefined } = {}): { value?: ConfigFile; issues: KitIssue[] } {
  const keyProblem = opts.keyProblem;
  if (keyProblem === undefined) return checkYamlDocument(bytes, CONFIG_FILE);
  return checkYamlDocument(bytes, {
    ...CONFIG_FILE,
    refine: (config) =>
      Object.entries(config.trust ?? {}).flatMap(([pattern, entry]) =>
        (entry.keys ?? []).flatMap((key, i) => {
          const message = keyProblem(keyPath(key, opts.dir));
          return message === undefined ? [] : [{ path: ["trust", pattern, "keys", i], message }];
        }),
      ),
  });
}

/** A key file as written: absolute, `~/…`, or relative to the config file's directory. */
function keyPath(key: string, dir: string | undefined): string {
  if (key === "~" || key.startsWith("~/")) return path.join(process.env.HOME ?? "/", key.slice(1));
  return path.resolve(dir ?? ".", key);
}

/** The settings a checked document makes; `file` is where it came from (named in hints). */
export function settingsFrom(config: ConfigFile, file: string | undefined): KitSettings {
  const mirrors = new Map<string, RegistryMirrorPolicy>();
  const registries = new Map<string, RegistryHostOptions>();
  for (const [key, entry] of Object.entries(config.registries ?? {})) {
    const host = parseRegistryHost(key);
    const options: RegistryHostOptions = {};
    if (entry.plain_http !== undefined) options.plainHttp = entry.plain_http;
    if (entry.insecure !== undefined) options.insecure = entry.insecure;
    registries.set(host, options);
    if ((entry.mirrors ?? []).length === 0) continue;
    const policy: RegistryMirrorPolicy = {
      mirrors: entry.mirrors!.map(parseMirrorLocation),
      pullFromMirror: entry.pull_from_mirror ?? "all",
      fallback: entry.fallback ?? true,
    };
    if (file !== undefined) policy.source = file;
    mirrors.set(host, policy);
  }
  const dir = file === undefined ? undefined : path.dirname(path.resolve(file));
  const scopes: TrustScope[] = Object.entries(config.trust ?? {}).map(([pattern, entry]) => ({
    pattern: parseTrustPattern(pattern),
    keys: (entry.keys ?? []).map((key) => keyPath(key, dir)),
    signed: entry.signed ?? true,
    ...(file !== undefined ? { file } : {}),
  }));
  return { file, mirrors, registries, trust: { scopes } };
}

export const NO_SETTINGS: KitSettings = { file: undefined, mirrors: new Map(), registries: new Map(), trust: { scopes: [] } };

/**
 * The config file's bytes: `file`, else $KIT_CONFIG, else the default path.
 * undefined when the default file does not exist (no config); a file named
 * by the caller or $KIT_CONFIG must exist.
 */
export async function readConfigFile(file?: string, env: NodeJS.ProcessEnv = process.env): Promise<{ file: string; bytes: Buffer } | undefined> {
  const location = file !== undefined ? { file, explicit: true } : configFileLocation(env);
  try {
    const info = await stat(location.file);
    if (!info.isFile()) throw new IoError(`${location.file}: not a regular file`);
    return { file: location.file, bytes: await readFileBounded(location.file, MAX_CONFIG_FILE_BYTES) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      if (!location.explicit) return undefined;
      const named = file !== undefined ? "" : ` (named by $${KIT_CONFIG_ENV})`;
      throw new NotFoundError(`${location.file}: no such config file${named}`, { hint: file !== undefined ? undefined : `create it, or unset ${KIT_CONFIG_ENV} to use none` });
    }
    throw err instanceof OciError ? err : new IoError(`${location.file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Read and check the config file (see readConfigFile for which); throws ConfigValidationError naming the first problem. */
export async function loadKitSettings(file?: string, env: NodeJS.ProcessEnv = process.env): Promise<KitSettings> {
  const read = await readConfigFile(file, env);
  if (read === undefined) return NO_SETTINGS;
  const { value, issues } = checkConfigFile(read.bytes);
  if (value === undefined) throw new ConfigValidationError(read.file, issues);
  return settingsFrom(value, read.file);
}

/** Every problem of the config file, as `kit validate` reports a kit's (`kit config check --json`); undefined when there is no file. */
export async function checkConfig(file?: string, env: NodeJS.ProcessEnv = process.env): Promise<ValidationReport | undefined> {
  const read = await readConfigFile(file, env);
  if (read === undefined) return undefined;
  let { value, issues } = checkConfigFile(read.bytes);
  if (value !== undefined && Object.keys(value.trust ?? {}).length > 0) {
    // Only here are the trust keys read while checking: a broken key is a problem of the file, located at its entry.
    const { keyFileProblem } = await import("./signature/policy.js");
    const dir = path.dirname(path.resolve(read.file));
    const problems = new Map<string, string | undefined>();
    for (const entry of Object.values(value.trust ?? {})) for (const key of entry.keys ?? []) problems.set(keyPath(key, dir), await keyFileProblem(keyPath(key, dir)));
    ({ issues } = checkConfigFile(read.bytes, { dir, keyProblem: (file) => problems.get(file) }));
  }
  return { file: read.file, valid: issues.length === 0, errors: issues.map((issue) => ({ file: read.file, ...issue })) };
}
