/**
 * Authentication against the real registry: htpasswd (Basic) and token (Bearer, with the test token
 * server), credentials from a docker config with a credential helper, and what errors say.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { DeniedError, UnauthorizedError } from "../../src/oras/errors.js";
import { staticCredentials, type Credential } from "../../src/oras/remote/auth/credentials.js";
import { dockerCredentials } from "../../src/oras/remote/auth/docker-config.js";
import { DEFAULT_OAUTH_CLIENT_ID } from "../../src/oras/remote/auth/client.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { DEFAULT_LOGIN_COMMAND } from "../../src/oras/remote/response-errors.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";
import { startTokenServer, type TokenServer } from "../support/token-server.js";
import { descriptorOf as blob, readAll } from "../support/content.js";

const PASSWORD = "correct-horse-battery";
const WRONG = "wrong-staple-42";

/** Everything a user could see of an error. */
function visible(err: unknown): string {
  const e = err as Error & { hint?: string };
  return `${e.message}\n${e.hint ?? ""}\n${String(e)}\n${e.stack ?? ""}`;
}

const EMPTY = Buffer.from("{}");
const EMPTY_DESC = blob(EMPTY, MediaType.EmptyJSON);

async function pushImage(repo: RemoteRepository, tag: string, content: string): Promise<{ manifest: Descriptor; layer: Descriptor }> {
  const layerBytes = Buffer.from(content);
  const layer = blob(layerBytes, MediaType.ImageLayer);
  await repo.push(EMPTY_DESC, EMPTY);
  await repo.push(layer, layerBytes);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EMPTY_DESC, layers: [layer] }));
  const manifest = blob(bytes, MediaType.ImageManifest);
  await repo.pushManifest(manifest, bytes, { tag });
  return { manifest, layer };
}

describe("Basic auth (htpasswd)", () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  const creds = (password: string) => staticCredentials({ [proxy.host]: { username: "alice", password } });

  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd", users: { alice: PASSWORD } });
    proxy = await startFaultProxy({ upstream: registry });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("pings with the right password", async () => {
    await new RemoteRegistry(proxy.host, { credentials: creds(PASSWORD) }).ping();
  });

  it("rejects a wrong password with UnauthorizedError naming the registry, never the password", async () => {
    const err = await new RemoteRegistry(proxy.host, { credentials: creds(WRONG) }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe(`invalid credentials for ${proxy.host}`);
    expect((err as UnauthorizedError).hint).toContain(`login ${proxy.host}`);
    expect(visible(err)).not.toContain(WRONG);
    expect(visible(err)).not.toContain(Buffer.from(`alice:${WRONG}`).toString("base64"));
  });

  it("says authentication is required when there are no credentials", async () => {
    const repo = new RemoteRepository({ registry: proxy.host, repository: "private/app" });
    const err = await repo.resolve("v1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe(`authentication required for ${proxy.host}`);
  });

  it("pushes and pulls with Basic, answering only the first challenge", async () => {
    const repo = new RegistryHelper(proxy.host, creds(PASSWORD)).repo("private/app");
    proxy.resetRequests();
    const { manifest, layer } = await pushImage(repo, "v1", "basic layer");
    expect(await repo.resolve("v1")).toEqual(manifest);
    expect((await readAll(await repo.fetch(layer))).toString()).toBe("basic layer");
    expect(proxy.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(proxy.requests.slice(1).every((r) => r.hasAuthorization)).toBe(true);
  });

  it("uses credentials from a docker config through a credential helper, asked once for every client", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kit-auth-helper-"));
    try {
      const bin = join(dir, "bin");
      await mkdir(bin);
      // A helper that knows one server; it must be asked with the registry host on stdin.
      const script = `#!/bin/sh
read server
echo "$1 $server" >> "${join(dir, "helper.log")}"
if [ "$1" = get ] && [ "$server" = "${proxy.host}" ]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"${PASSWORD}"}' "$server"
  exit 0
fi
echo "credentials not found in native keychain"; exit 1
`;
      await writeFile(join(bin, "docker-credential-fake"), script);
      await chmod(join(bin, "docker-credential-fake"), 0o755);
      await writeFile(join(dir, "config.json"), JSON.stringify({ credsStore: "fake" }));
      const credentials = dockerCredentials({ env: { ...process.env, DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH ?? ""}` } });
      const repo = new RemoteRepository({ registry: proxy.host, repository: "private/helper" }, { credentials });
      const { manifest } = await pushImage(repo, "v1", "via helper");
      expect(await repo.resolve("v1")).toEqual(manifest);
      // A second client with the same options shares the provider's one memo: no second helper run.
      expect(await new RemoteRepository({ registry: proxy.host, repository: "private/helper" }, { credentials }).resolve("v1")).toEqual(manifest);
      expect((await readFile(join(dir, "helper.log"), "utf8")).trim().split("\n")).toEqual([`get ${proxy.host}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Repositories sharing one registry client (connections and cached auth). */
class RegistryHelper {
  private readonly registry: RemoteRegistry;
  constructor(host: string, credentials?: (registry: string) => Promise<Credential | undefined>) {
    this.registry = new RemoteRegistry(host, credentials ? { credentials } : {});
  }
  repo(name: string): RemoteRepository {
    return this.registry.repository(name);
  }
}

describe("Bearer tokens (token server)", () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;
  const alice = () => staticCredentials({ [registry.host]: { username: "alice", password: PASSWORD } });

  beforeAll(async () => {
    tokens = await startTokenServer({ users: { alice: PASSWORD }, anonymousPull: /^public\// });
    registry = await startRegistry({ auth: "token", tokenServer: tokens });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  it("asks for pull,push when pushing and only pull when reading, reusing each token", async () => {
    const writer = new RegistryHelper(registry.host, alice()).repo("team/app");
    tokens.requests.length = 0;
    const { manifest, layer } = await pushImage(writer, "v1", "token layer");
    expect(tokens.requests.length).toBeGreaterThan(0);
    for (const r of tokens.requests) {
      expect(r.scopes).toEqual(["repository:team/app:pull,push"]);
      expect(r.authScheme).toBe("Basic");
      expect(r.username).toBe("alice");
      expect(r.status).toBe(200);
    }
    // Five uploads/PUTs, each needing pull,push: one token fetch answers them all.
    expect(tokens.requests).toHaveLength(1);

    const reader = new RegistryHelper(registry.host, alice()).repo("team/app");
    tokens.requests.length = 0;
    expect(await reader.resolve("v1")).toEqual(manifest);
    expect((await reader.fetchManifest(manifest.digest)).bytes.length).toBe(manifest.size);
    expect((await readAll(await reader.fetch(layer))).toString()).toBe("token layer");
    expect(tokens.requests.map((r) => r.scopes)).toEqual([["repository:team/app:pull"]]);
  });

  it("adds pull on the source repository when mounting", async () => {
    const repos = new RegistryHelper(registry.host, alice());
    const source = repos.repo("team/source");
    const bytes = Buffer.from("shared layer");
    await source.push(blob(bytes), bytes);
    tokens.requests.length = 0;
    expect(await repos.repo("team/dest").mount(blob(bytes), "team/source")).toBe(true);
    expect(tokens.requests.map((r) => [...r.scopes].sort())).toEqual([["repository:team/dest:pull,push", "repository:team/source:pull"]]);
  });

  it("pulls public repositories anonymously and refuses anonymous pushes", async () => {
    const writer = new RegistryHelper(registry.host, alice()).repo("public/app");
    const { manifest } = await pushImage(writer, "v1", "public layer");
    const anon = new RemoteRepository({ registry: registry.host, repository: "public/app" });
    tokens.requests.length = 0;
    expect(await anon.resolve("v1")).toEqual(manifest);
    expect(tokens.requests.every((r) => !r.hasAuthorization)).toBe(true);
    const bytes = Buffer.from("anonymous push");
    const err = await anon.push(blob(bytes), bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe(`authentication required for ${registry.host}`);
  });

  it("rejects a wrong password at the token service without revealing it", async () => {
    const creds = staticCredentials({ [registry.host]: { username: "alice", password: WRONG } });
    const err = await new RemoteRegistry(registry.host, { credentials: creds }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe(`invalid credentials for ${registry.host}`);
    expect(visible(err)).not.toContain(WRONG);
  });

  it("reports a denied scope for a user the token service gives less than asked", async () => {
    const limited = await startTokenServer({ users: { bob: PASSWORD }, grant: () => ["pull"] });
    const reg = await startRegistry({ auth: "token", tokenServer: limited });
    try {
      const bob = new RemoteRepository({ registry: reg.host, repository: "team/app" }, { credentials: staticCredentials({ [reg.host]: { username: "bob", password: PASSWORD } }) });
      const bytes = Buffer.from("bob tries to push");
      const err = await bob.push(blob(bytes), bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeniedError);
      expect((err as Error).message).toContain(reg.host);
      expect((err as Error).message).toContain("pull,push on team/app");
    } finally {
      await reg.stop();
      await limited.stop();
    }
  });

  it("exchanges an identity token (refresh token) by OAuth2 POST", async () => {
    const url = new URL(tokens.realm);
    url.searchParams.set("service", tokens.service);
    url.searchParams.set("offline_token", "true");
    const res = await request(url, { headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}` } });
    const { refresh_token: refreshToken } = (await res.body.json()) as { refresh_token: string };
    expect(typeof refreshToken).toBe("string");

    const writer = new RegistryHelper(registry.host, alice()).repo("team/oauth");
    const { manifest } = await pushImage(writer, "v1", "oauth layer");
    const identity = staticCredentials({ [registry.host]: { identityToken: refreshToken } });
    const repo = new RemoteRepository({ registry: registry.host, repository: "team/oauth" }, { credentials: identity, oauthClientId: "kit" });
    tokens.requests.length = 0;
    expect(await repo.resolve("v1")).toEqual(manifest);
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0]).toMatchObject({ method: "POST", grantType: "refresh_token", clientId: "kit", scopes: ["repository:team/oauth:pull"], status: 200 });

    // Without the option the library names itself neutrally, not after any tool built on it.
    tokens.requests.length = 0;
    await new RemoteRepository({ registry: registry.host, repository: "team/oauth" }, { credentials: identity }).resolve("v1");
    expect(tokens.requests.map((r) => r.clientId)).toEqual([DEFAULT_OAUTH_CLIENT_ID]);
    expect(DEFAULT_OAUTH_CLIENT_ID).not.toBe("kit");
  });

  it("names the client's login command in authentication hints", async () => {
    const bytes = Buffer.from("anonymous push with a hint");
    const options = [{}, { loginCommand: "acme login" }];
    const [plain, named] = await Promise.all(
      options.map((o) => new RemoteRepository({ registry: registry.host, repository: "public/hint" }, o).push(blob(bytes), bytes).catch((e: unknown) => e)),
    );
    expect((plain as UnauthorizedError).hint).toContain(`${DEFAULT_LOGIN_COMMAND} ${registry.host}`);
    expect((named as UnauthorizedError).hint).toContain(`acme login ${registry.host}`);
    // The refusal the hint answers is kept too: the registry's 401 to the upload, even with an (anonymous) token.
    expect((plain as UnauthorizedError).response).toMatchObject({
      method: "POST",
      status: 401,
      url: `http://${registry.host}/v2/public/hint/blobs/uploads/`,
    });
    expect((plain as UnauthorizedError).response!.errors.map((e) => e.code)).toContain("UNAUTHORIZED");
  });

  it("keeps the registry's 401 on an authentication failure", async () => {
    const anon = new RemoteRepository({ registry: registry.host, repository: "team/private" });
    const err = (await anon.resolve("v1").catch((e: unknown) => e)) as UnauthorizedError;
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err.response).toMatchObject({ method: "HEAD", status: 401, url: `http://${registry.host}/v2/team/private/manifests/v1` });
  });
});
