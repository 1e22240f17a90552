/**
 * kit login / logout and authenticated commands against the real registry in
 * htpasswd (Basic) and token (Bearer) modes, and through a credential helper.
 */
import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { basicAuthHeader, startRegistry, type RunningRegistry } from "../support/registry.js";
import { startTokenServer, type TokenServer } from "../support/token-server.js";

const USER = "alice";
const PASSWORD = "s3cret-Pa55word";

async function dockerConfigDir(config?: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "kit-docker-config-"));
  if (config !== undefined) await writeFile(path.join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

describe("Basic auth (htpasswd)", () => {
  let registry: RunningRegistry;
  let digest: string;

  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
    const built = await buildImage({ url: registry.url, repo: "team/app", authorization: basicAuthHeader(USER, PASSWORD) }, { tag: "v1", seed: "auth" });
    digest = built.digest;
  });
  afterAll(() => registry?.stop());

  it("refuses a wrong password with exit 6, naming the registry and not the password, saving nothing", async () => {
    const config = await dockerConfigDir();
    const result = await runKit(["login", registry.host, "-u", USER, "--password-stdin"], { input: "wrong-password\n", env: { DOCKER_CONFIG: config } });
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(registry.host);
    expect(result.stderr).not.toContain("wrong-password");
    expect(existsSync(path.join(config, "config.json"))).toBe(false);
  });

  it("exits 6 without credentials, hinting at kit login", async () => {
    const result = await runKit(["resolve", `${registry.host}/team/app:v1`], { env: { DOCKER_CONFIG: await dockerConfigDir() } });
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(registry.host);
    expect(result.stderr).toContain(`kit: hint: run \`kit login ${registry.host}\``);
  });

  it("logs in, uses the saved credentials, logs out", async () => {
    const config = await dockerConfigDir({ auths: { "other.example.com": { auth: "eDp5" } }, currentContext: "keep-me" });
    const env = { DOCKER_CONFIG: config };
    const login = await runKit(["login", registry.host, "-u", USER, "--password-stdin"], { input: `${PASSWORD}\n`, env });
    expect(login.code).toBe(0);
    expect(login.stdout + login.stderr).not.toContain(PASSWORD);
    const saved = JSON.parse(await readFile(path.join(config, "config.json"), "utf8"));
    expect(saved.currentContext).toBe("keep-me");
    expect(saved.auths["other.example.com"]).toEqual({ auth: "eDp5" });
    expect(Buffer.from(saved.auths[registry.host].auth, "base64").toString()).toBe(`${USER}:${PASSWORD}`);

    expect((await runKit(["resolve", `${registry.host}/team/app:v1`], { env })).stdout).toBe(`${registry.host}/team/app@${digest}\n`);
    expect((await runKit(["copy", `${registry.host}/team/app:v1`, `${registry.host}/team/copy:v1`], { env })).code).toBe(0);

    expect((await runKit(["logout", registry.host], { env })).code).toBe(0);
    const after = JSON.parse(await readFile(path.join(config, "config.json"), "utf8"));
    expect(after.auths[registry.host]).toBeUndefined();
    expect((await runKit(["resolve", `${registry.host}/team/app:v1`], { env })).code).toBe(6);
    expect((await runKit(["logout", registry.host], { env })).code).toBe(5);
  });

  it("takes credentials from a credential helper on PATH", async () => {
    const bin = await mkdtemp(path.join(tmpdir(), "kit-helper-"));
    const helper = path.join(bin, "docker-credential-kittest");
    await writeFile(
      helper,
      `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n`,
    );
    await chmod(helper, 0o755);
    const config = await dockerConfigDir({ credsStore: "kittest" });
    const env = { DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}` };
    const result = await runKit(["resolve", `${registry.host}/team/app:v1`], { env });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`${registry.host}/team/app@${digest}\n`);
  });
});

describe("Bearer token auth", () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;

  beforeAll(async () => {
    tokens = await startTokenServer({ users: { [USER]: PASSWORD }, anonymousPull: /^public\// });
    registry = await startRegistry({ auth: "token", tokenServer: tokens });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  it("logs in, pushes with a pull,push token and reads anonymously where allowed", async () => {
    const env = { DOCKER_CONFIG: await dockerConfigDir() };
    const bad = await runKit(["login", registry.host, "-u", USER, "--password-stdin"], { input: "nope\n", env });
    expect(bad.code).toBe(6);
    const login = await runKit(["login", registry.host, "-u", USER, "--password-stdin"], { input: PASSWORD, env });
    expect(login.code).toBe(0);

    const image = await buildImage(
      { url: registry.url, repo: "private/app", authorization: tokens.bearer("private/app", ["pull", "push"], USER) },
      { tag: "v1", seed: "token" },
    );
    tokens.requests.length = 0;
    const copied = await runKit(["copy", `${registry.host}/private/app:v1`, `${registry.host}/public/app:v1`], { env });
    expect(copied.stderr).toBe("");
    expect(copied.stdout).toBe(`${image.digest}\n`);
    const scopes = tokens.requests.flatMap((r) => r.scopes);
    expect(scopes.some((s) => /^repository:public\/app:(pull,push|push,pull)$/.test(s))).toBe(true);
    expect(scopes.some((s) => s === "repository:private/app:pull")).toBe(true);
    expect(JSON.stringify(tokens.requests)).not.toContain(PASSWORD);

    const anonymous = await runKit(["resolve", `${registry.host}/public/app:v1`], { env: { DOCKER_CONFIG: await dockerConfigDir() } });
    expect(anonymous.stdout).toBe(`${registry.host}/public/app@${image.digest}\n`);
    const denied = await runKit(["resolve", `${registry.host}/private/app:v1`], { env: { DOCKER_CONFIG: await dockerConfigDir() } });
    expect(denied.code).toBe(6);
  });
});
