import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidContentError, IoError } from "../../src/oras/errors.js";
import {
  DOCKER_HUB_SERVER_URL,
  dockerConfigPath,
  dockerCredentials,
  eraseDockerCredential,
  lookupDockerCredential,
  registryOfConfigKey,
  storeDockerCredential,
  type DockerConfigOptions,
} from "../../src/oras/remote/auth/docker-config.js";

/**
 * A fake `docker-credential-test` (Node script) keeping its secrets in $HELPER_STORE and logging each
 * call (action + server URL, never the secret) to $HELPER_LOG. Server URLs "broken.example" and
 * "slow.example" make it fail or hang.
 */
const HELPER_SOURCE = `#!/usr/bin/env node
const fs = require("fs");
const action = process.argv[2];
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const store = fs.existsSync(process.env.HELPER_STORE) ? JSON.parse(fs.readFileSync(process.env.HELPER_STORE, "utf8")) : {};
  const save = () => fs.writeFileSync(process.env.HELPER_STORE, JSON.stringify(store));
  const server = action === "store" ? JSON.parse(input).ServerURL : input.trim();
  fs.appendFileSync(process.env.HELPER_LOG, action + " " + server + "\\n");
  if (server === "broken.example") { process.stderr.write("boom: keychain locked\\n"); process.exit(2); }
  if (server === "slow.example") { setTimeout(() => {}, 60000); return; }
  if (action === "get") {
    const e = store[server];
    if (!e) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1); }
    process.stdout.write(JSON.stringify({ ServerURL: server, Username: e.Username, Secret: e.Secret }));
  } else if (action === "store") {
    const r = JSON.parse(input); store[r.ServerURL] = { Username: r.Username, Secret: r.Secret }; save();
  } else if (action === "erase") {
    if (!store[server]) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1); }
    delete store[server]; save();
  }
});
`;

let dir: string;
let opts: DockerConfigOptions;
let configPath: string;
let storePath: string;
let logPath: string;

const b64 = (s: string): string => Buffer.from(s).toString("base64");

async function writeConfig(value: unknown): Promise<void> {
  await writeFile(configPath, typeof value === "string" ? value : JSON.stringify(value));
}
async function readConfig(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
}
async function helperLog(): Promise<string[]> {
  try {
    return (await readFile(logPath, "utf8")).trim().split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}
async function seedHelper(entries: Record<string, { Username: string; Secret: string }>): Promise<void> {
  await writeFile(storePath, JSON.stringify(entries));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kit-docker-config-"));
  const bin = join(dir, "bin");
  await mkdir(bin);
  await writeFile(join(bin, "docker-credential-test"), HELPER_SOURCE);
  await chmod(join(bin, "docker-credential-test"), 0o755);
  const dockerDir = join(dir, "docker");
  configPath = join(dockerDir, "config.json");
  storePath = join(dir, "helper-store.json");
  logPath = join(dir, "helper.log");
  await mkdir(dockerDir);
  opts = {
    env: { ...process.env, DOCKER_CONFIG: dockerDir, PATH: `${bin}:${process.env.PATH ?? ""}`, HELPER_STORE: storePath, HELPER_LOG: logPath },
  };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("config location and keys", () => {
  it("uses $DOCKER_CONFIG, else ~/.docker", () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: "/x/y" })).toBe("/x/y/config.json");
    expect(dockerConfigPath({ HOME: "/home/u" })).toBe("/home/u/.docker/config.json");
  });

  it("normalises auths keys: scheme and path dropped, Docker Hub aliases folded", () => {
    expect(registryOfConfigKey("https://reg.example.com/v1/")).toBe("reg.example.com");
    expect(registryOfConfigKey("http://Reg.Example.com:5000")).toBe("reg.example.com:5000");
    for (const hub of ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"]) {
      expect(registryOfConfigKey(hub)).toBe("docker.io");
    }
  });
});

describe("lookupDockerCredential from auths", () => {
  it("is anonymous when there is no config file", async () => {
    expect(await lookupDockerCredential("reg.example.com", opts)).toBeUndefined();
  });

  it("decodes `auth` (base64 user:password; the password may contain colons)", async () => {
    await writeConfig({ auths: { "reg.example.com": { auth: b64("alice:pa:ss") } } });
    expect(await lookupDockerCredential("reg.example.com", opts)).toEqual({ username: "alice", password: "pa:ss" });
  });

  it("matches keys written with a scheme and path, but only for the exact host and port", async () => {
    await writeConfig({ auths: { "https://reg.example.com/v2/": { auth: b64("a:1") }, "reg.example.com:5000": { auth: b64("b:2") } } });
    expect(await lookupDockerCredential("reg.example.com", opts)).toEqual({ username: "a", password: "1" });
    expect(await lookupDockerCredential("reg.example.com:5000", opts)).toEqual({ username: "b", password: "2" });
    expect(await lookupDockerCredential("other.example.com", opts)).toBeUndefined();
  });

  it("finds Docker Hub credentials under any of its aliases", async () => {
    for (const key of [DOCKER_HUB_SERVER_URL, "index.docker.io", "registry-1.docker.io", "docker.io"]) {
      await writeConfig({ auths: { [key]: { auth: b64("hubuser:hubpass") } } });
      expect(await lookupDockerCredential("docker.io", opts)).toEqual({ username: "hubuser", password: "hubpass" });
    }
  });

  it("reads username/password fields and identity tokens", async () => {
    await writeConfig({
      auths: {
        "a.example": { username: "u", password: "p" },
        "b.example": { auth: b64("u2:"), identitytoken: "refresh-xyz" },
        "c.example": { registrytoken: "bearer-abc" },
      },
    });
    expect(await lookupDockerCredential("a.example", opts)).toEqual({ username: "u", password: "p" });
    expect(await lookupDockerCredential("b.example", opts)).toEqual({ username: "u2", password: "", identityToken: "refresh-xyz" });
    expect(await lookupDockerCredential("c.example", opts)).toEqual({ registryToken: "bearer-abc" });
  });

  // Found by fuzzing: "k in record" saw Object.prototype's names, so "constructor" named a helper and "__proto__" was lost.
  it('keeps keys named like Object.prototype\'s properties ("__proto__", "constructor") as plain entries', async () => {
    for (const registry of ["__proto__", "constructor"]) await storeDockerCredential(registry, { username: "u", password: registry }, opts);
    expect(Object.keys((await readConfig()).auths as object)).toEqual(["__proto__", "constructor"]);
    for (const registry of ["__proto__", "constructor"]) expect(await lookupDockerCredential(registry, opts)).toEqual({ username: "u", password: registry });
    expect(await lookupDockerCredential("toString", opts)).toBeUndefined();
  });

  it("reports a broken config file by path, without quoting secrets", async () => {
    await writeConfig("{ not json");
    await expect(lookupDockerCredential("a.example", opts)).rejects.toSatisfy(
      (e: unknown) => e instanceof InvalidContentError && e.message.includes(configPath),
    );
    await writeConfig({ auths: { "a.example": { auth: b64("no-colon-secret") } } });
    const err = await lookupDockerCredential("a.example", opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContentError);
    expect((err as Error).message).toContain("a.example");
    expect((err as Error).message).not.toContain("no-colon-secret");
    expect((err as Error).message).not.toContain(b64("no-colon-secret"));
  });
});

describe("credential helpers", () => {
  it("asks credHelpers[host] with the host as server URL", async () => {
    await writeConfig({ credHelpers: { "reg.example.com": "test" }, auths: { "reg.example.com": { auth: b64("file:user") } } });
    await seedHelper({ "reg.example.com": { Username: "helperuser", Secret: "helpersecret" } });
    expect(await lookupDockerCredential("reg.example.com", opts)).toEqual({ username: "helperuser", password: "helpersecret" });
    expect(await helperLog()).toEqual(["get reg.example.com"]);
  });

  it("uses credsStore for every registry, with Docker Hub's server URL for docker.io", async () => {
    await writeConfig({ credsStore: "test" });
    await seedHelper({ [DOCKER_HUB_SERVER_URL]: { Username: "hub", Secret: "s3cret" } });
    expect(await lookupDockerCredential("docker.io", opts)).toEqual({ username: "hub", password: "s3cret" });
    expect(await helperLog()).toEqual([`get ${DOCKER_HUB_SERVER_URL}`]);
  });

  it("treats Username <token> as an identity token", async () => {
    await writeConfig({ credsStore: "test" });
    await seedHelper({ "reg.example.com": { Username: "<token>", Secret: "refresh-123" } });
    expect(await lookupDockerCredential("reg.example.com", opts)).toEqual({ identityToken: "refresh-123" });
  });

  it("is anonymous when the helper has nothing (and no auths entry exists)", async () => {
    await writeConfig({ credsStore: "test" });
    expect(await lookupDockerCredential("reg.example.com", opts)).toBeUndefined();
  });

  it("falls back to an auths entry when the helper has nothing", async () => {
    await writeConfig({ credsStore: "test", auths: { "reg.example.com": { auth: b64("f:g") } } });
    expect(await lookupDockerCredential("reg.example.com", opts)).toEqual({ username: "f", password: "g" });
  });

  it("reports a failing helper with its message, a missing one by name, a hanging one by timeout", async () => {
    await writeConfig({ credsStore: "test", credHelpers: { "gone.example": "absent" } });
    const broken = await lookupDockerCredential("broken.example", opts).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(IoError);
    expect((broken as Error).message).toMatch(/docker-credential-test failed for broken\.example \(exit 2\): boom: keychain locked/);

    const missing = await lookupDockerCredential("gone.example", opts).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(IoError);
    expect((missing as Error).message).toContain("docker-credential-absent is not installed");

    const slow = await lookupDockerCredential("slow.example", { ...opts, helperTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(IoError);
    expect((slow as Error).message).toContain("did not finish");
  });

  it("dockerCredentials asks the helper once per registry", async () => {
    await writeConfig({ credsStore: "test" });
    await seedHelper({ "reg.example.com": { Username: "u", Secret: "p" } });
    const provider = dockerCredentials(opts);
    const [a, b] = await Promise.all([provider("reg.example.com"), provider("reg.example.com")]);
    expect(a).toEqual({ username: "u", password: "p" });
    expect(b).toEqual(a);
    expect(await helperLog()).toEqual(["get reg.example.com"]);
  });
});

describe("storing and erasing", () => {
  it("writes auths[host].auth atomically with mode 0600, keeping every other key", async () => {
    const original = {
      auths: { "other.example": { auth: b64("x:y") }, "reg.example.com": { auth: b64("old:old"), email: "me@example.com", identitytoken: "stale" } },
      psFormat: "table {{.ID}}",
      proxies: { default: { httpProxy: "http://proxy:3128" } },
    };
    await writeConfig(original);
    const where = await storeDockerCredential("reg.example.com", { username: "new", password: "pw" }, opts);
    expect(where.location).toBe(configPath);
    const after = await readConfig();
    expect(after.psFormat).toBe(original.psFormat);
    expect(after.proxies).toEqual(original.proxies);
    expect(after.auths).toEqual({
      "other.example": { auth: b64("x:y") },
      "reg.example.com": { email: "me@example.com", auth: b64("new:pw") },
    });
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(dir, "docker"))).sort()).toEqual(["config.json"]);
    expect(await lookupDockerCredential("reg.example.com", opts)).toEqual({ username: "new", password: "pw" });
  });

  it("creates the file (and directory) when missing, keying Docker Hub as docker does", async () => {
    const nested = join(dir, "fresh", "config.json");
    await storeDockerCredential("docker.io", { username: "hub", password: "pw" }, { ...opts, configPath: nested });
    const written = JSON.parse(await readFile(nested, "utf8")) as { auths: Record<string, unknown> };
    expect(Object.keys(written.auths)).toEqual([DOCKER_HUB_SERVER_URL]);
  });

  it("stores through the configured helper and leaves the file alone", async () => {
    await writeConfig({ credsStore: "test" });
    const before = await readFile(configPath, "utf8");
    const where = await storeDockerCredential("reg.example.com", { username: "u", password: "secret" }, opts);
    expect(where.location).toBe("credential helper docker-credential-test");
    expect(await readFile(configPath, "utf8")).toBe(before);
    expect(JSON.parse(await readFile(storePath, "utf8"))).toEqual({ "reg.example.com": { Username: "u", Secret: "secret" } });
  });

  it("erases every alias entry for the registry and reports whether anything was there", async () => {
    await writeConfig({ auths: { [DOCKER_HUB_SERVER_URL]: { auth: b64("a:b") }, "docker.io": { auth: b64("c:d") }, "keep.example": { auth: b64("e:f") } }, x: 1 });
    expect(await eraseDockerCredential("docker.io", opts)).toBe(true);
    expect(await readConfig()).toEqual({ auths: { "keep.example": { auth: b64("e:f") } }, x: 1 });
    expect(await eraseDockerCredential("docker.io", opts)).toBe(false);
  });

  it("erases through the helper", async () => {
    await writeConfig({ credHelpers: { "reg.example.com": "test" } });
    await seedHelper({ "reg.example.com": { Username: "u", Secret: "p" } });
    expect(await eraseDockerCredential("reg.example.com", opts)).toBe(true);
    expect(await lookupDockerCredential("reg.example.com", opts)).toBeUndefined();
    expect(await eraseDockerCredential("reg.example.com", opts)).toBe(false);
  });
});

describe("secrets stay in the config file (issue 9)", () => {
  it("a config that is not JSON is reported without quoting any of it", async () => {
    const secret = b64("alice:the-password");
    for (const text of [`{"auths":{"r":{"auth":${secret}}}}`, `{"auths":{"r":{"auth":"${secret}"}}},x`, `{"auths":{"r":{"auth":"${secret}"`]) {
      await writeConfig(text);
      const err = await lookupDockerCredential("r", opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidContentError);
      expect((err as Error).message).toContain(configPath);
      expect((err as Error).message).not.toContain(secret.slice(0, 6));
      expect((err as Error).stack).not.toContain(secret.slice(0, 6));
    }
  });

  it("erasing rewrites the file atomically with mode 0600, every other key kept, no temp file left", async () => {
    await writeConfig({ auths: { "reg.example.com": { auth: b64("a:b") }, "keep.example": { auth: b64("c:d") } }, credHelpers: { "h.example": "x" }, psFormat: "p" });
    await chmod(configPath, 0o644);
    expect(await eraseDockerCredential("reg.example.com", opts)).toBe(true);
    expect(await readConfig()).toEqual({ auths: { "keep.example": { auth: b64("c:d") } }, credHelpers: { "h.example": "x" }, psFormat: "p" });
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, "docker"))).toEqual(["config.json"]);
  });

  it("a new config directory is created private (0700) and the file 0600", async () => {
    const fresh = join(dir, "new-docker", "config.json");
    await storeDockerCredential("reg.example.com", { username: "u", password: "p" }, { ...opts, configPath: fresh });
    expect((await stat(join(dir, "new-docker"))).mode & 0o777).toBe(0o700);
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
  });

  it("a symlinked config is replaced at its target: the link stays, no second copy of the secret appears", async () => {
    const real = join(dir, "dotfiles", "docker-config.json");
    await mkdir(join(dir, "dotfiles"));
    await writeFile(real, JSON.stringify({ auths: {}, keep: true }));
    await rm(configPath, { force: true });
    await symlink(real, configPath);
    await storeDockerCredential("reg.example.com", { username: "u", password: "linked-secret" }, opts);
    expect((await lstat(configPath)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, "utf8"))).toEqual({ auths: { "reg.example.com": { auth: b64("u:linked-secret") } }, keep: true });
    expect((await stat(real)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(dir, "dotfiles"))).sort()).toEqual(["docker-config.json"]);
    expect(await readdir(join(dir, "docker"))).toEqual(["config.json"]);
  });
});
