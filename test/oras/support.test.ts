/** Self-tests of test/support: the registry launcher, token server, fault proxy and image fixtures. */
import { createHash } from "node:crypto";
import { access, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "undici";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage, buildImageIndex, skopeo, skopeoBytes, writeImageIndexLayout } from "../support/images.js";
import { basicAuthHeader, startRegistry, type RunningRegistry } from "../support/registry.js";
import { startTokenServer, type TokenServer } from "../support/token-server.js";

const agent = new Agent();
afterAll(async () => {
  await agent.close();
});

async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const res = await request(url, { method: (opts.method ?? "GET") as "GET", headers: opts.headers, body: opts.body, dispatcher: agent });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe("startRegistry", () => {
  it("serves the distribution API, and after stop() its port is closed and its temp storage gone", async () => {
    const registry = await startRegistry();
    try {
      const res = await call(`${registry.url}/v2/`);
      expect(res.status).toBe(200);
      expect(res.headers["docker-distribution-api-version"]).toBe("registry/2.0");
      expect(registry.host).toBe(`127.0.0.1:${registry.port}`);
      await buildImage({ url: registry.url, repo: "lifecycle/app" }, { layerSizes: [10] });
      expect(await exists(registry.storageDir)).toBe(true);
    } finally {
      await registry.stop();
    }
    expect(await connects(registry.port)).toBe(false);
    expect(await exists(registry.storageDir)).toBe(false);
    expect(await exists(registry.configPath)).toBe(false);
    await registry.stop(); // idempotent
  });

  it("gives two registries started at once different ports", async () => {
    const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect((await call(`${a.url}/v2/`)).status).toBe(200);
      expect((await call(`${b.url}/v2/`)).status).toBe(200);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("fails loudly with the registry's stderr when the registry cannot start", async () => {
    await expect(startRegistry({ extraConfig: { storage: { nosuchdriver: {} } } })).rejects.toThrow(
      /exited during startup[\s\S]*nosuchdriver/,
    );
  });

  it("in htpasswd mode rejects a wrong password and accepts the right one", async () => {
    const registry = await startRegistry({ auth: "htpasswd", users: { alice: "correct horse" } });
    try {
      const anonymous = await call(`${registry.url}/v2/`);
      expect(anonymous.status).toBe(401);
      expect(String(anonymous.headers["www-authenticate"])).toMatch(/^Basic realm=/);
      const wrong = await call(`${registry.url}/v2/`, { headers: { authorization: basicAuthHeader("alice", "wrong") } });
      expect(wrong.status).toBe(401);
      const right = await call(`${registry.url}/v2/`, {
        headers: { authorization: basicAuthHeader("alice", "correct horse") },
      });
      expect(right.status).toBe(200);
    } finally {
      await registry.stop();
    }
  });
});

describe("token server with docker-registry in token mode", () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;
  const users = { alice: "alice-password" };

  beforeAll(async () => {
    tokens = await startTokenServer({ users, anonymousPull: /^public\// });
    registry = await startRegistry({ auth: "token", tokenServer: tokens });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.stop();
  });

  const getToken = async (scopes: string[], authorization?: string, extra = ""): Promise<{ status: number; json: any }> => {
    const query = new URLSearchParams({ service: tokens.service });
    for (const scope of scopes) query.append("scope", scope);
    const res = await call(`${tokens.realm}?${query.toString()}${extra}`, {
      headers: authorization ? { authorization } : {},
    });
    return { status: res.status, json: JSON.parse(res.body.toString("utf8")) };
  };

  it("challenges anonymous clients with the token realm and service", async () => {
    const res = await call(`${registry.url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Bearer realm="${tokens.realm}",service="${tokens.service}"`);
  });

  it("issues tokens the registry accepts, scoped to what was granted", async () => {
    const { status, json } = await getToken(["repository:team/app:pull,push"], basicAuthHeader("alice", users.alice));
    expect(status).toBe(200);
    expect(json.token).toBe(json.access_token);
    expect(json.expires_in).toBe(300);
    const bearer = { authorization: `Bearer ${json.token}` };
    expect((await call(`${registry.url}/v2/`, { headers: bearer })).status).toBe(200);
    // push is granted: an upload can start
    const upload = await call(`${registry.url}/v2/team/app/blobs/uploads/`, { method: "POST", headers: bearer });
    expect(upload.status).toBe(202);
    // but not on another repository
    const elsewhere = await call(`${registry.url}/v2/team/other/blobs/uploads/`, { method: "POST", headers: bearer });
    expect(elsewhere.status).toBe(401);
    // distribution lists the actions in map order, which varies from run to run
    expect(String(elsewhere.headers["www-authenticate"])).toMatch(/scope="repository:team\/other:(pull,push|push,pull)"/);
  });

  it("is really verified by the registry: a token signed with a key outside its rootcertbundle is refused", async () => {
    const stranger = await startTokenServer({ service: tokens.service, issuer: tokens.issuer });
    try {
      const foreign = stranger.issueToken({ subject: "alice", access: [] });
      expect((await call(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${foreign}` } })).status).toBe(401);
      const own = tokens.issueToken({ subject: "alice", access: [] });
      expect((await call(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${own}` } })).status).toBe(200);
    } finally {
      await stranger.stop();
    }
  });

  it("refuses a push with a pull-only token", async () => {
    const { json } = await getToken(["repository:team/app:pull"], basicAuthHeader("alice", users.alice));
    const upload = await call(`${registry.url}/v2/team/app/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: `Bearer ${json.token}` },
    });
    expect([401, 403]).toContain(upload.status);
    expect(String(upload.headers["www-authenticate"])).toContain('error="insufficient_scope"');
  });

  it("grants anonymous pull only where anonymousPull allows, and rejects a wrong password", async () => {
    const fixture = await buildImage(
      { url: registry.url, repo: "public/base", authorization: tokens.bearer("public/base", ["pull", "push"]) },
      { tag: "v1", layerSizes: [100] },
    );
    const anon = await getToken(["repository:public/base:pull,push", "repository:private/x:pull"]);
    expect(anon.status).toBe(200);
    const granted = tokens.requests.at(-1)!.granted;
    expect(granted).toEqual([
      { type: "repository", name: "public/base", actions: ["pull"] },
      { type: "repository", name: "private/x", actions: [] },
    ]);
    const manifest = await call(`${registry.url}/v2/public/base/manifests/v1`, {
      headers: { authorization: `Bearer ${anon.json.token}`, accept: fixture.manifest.mediaType },
    });
    expect(manifest.status).toBe(200);
    expect(sha256(manifest.body)).toBe(fixture.digest);

    const wrong = await getToken(["repository:team/app:pull"], basicAuthHeader("alice", "nope"));
    expect(wrong.status).toBe(401);
  });

  it("supports the OAuth2 password and refresh_token grants, refresh tokens only when offline", async () => {
    const post = (form: Record<string, string>) =>
      call(tokens.realm, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
    const online = await post({
      grant_type: "password",
      username: "alice",
      password: users.alice,
      service: tokens.service,
      scope: "repository:team/app:pull",
      client_id: "kit-test",
    });
    expect(online.status).toBe(200);
    expect(JSON.parse(online.body.toString()).refresh_token).toBeUndefined();

    const offline = await post({
      grant_type: "password",
      username: "alice",
      password: users.alice,
      service: tokens.service,
      scope: "repository:team/app:pull repository:team/app:push",
      client_id: "kit-test",
      access_type: "offline",
    });
    expect(offline.status).toBe(200);
    const refreshToken: string = JSON.parse(offline.body.toString()).refresh_token;
    expect(refreshToken).toMatch(/^[0-9a-f]{48}$/);
    expect(tokens.requests.at(-1)!.scopes).toEqual(["repository:team/app:pull", "repository:team/app:push"]);

    const refreshed = await post({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      service: tokens.service,
      scope: "repository:team/app:pull,push",
      client_id: "kit-test",
    });
    expect(refreshed.status).toBe(200);
    const access = JSON.parse(refreshed.body.toString()).access_token as string;
    const upload = await call(`${registry.url}/v2/team/app/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: `Bearer ${access}` },
    });
    expect(upload.status).toBe(202);

    const noClientId = await post({ grant_type: "password", username: "alice", password: users.alice, service: tokens.service });
    expect(noClientId.status).toBe(400);

    tokens.revokeRefreshTokens();
    const revoked = await post({ grant_type: "refresh_token", refresh_token: refreshToken, service: tokens.service, client_id: "kit-test" });
    expect(revoked.status).toBe(401);

    // The log is for assertions on scopes and flows; it must never hold a secret.
    const log = JSON.stringify(tokens.requests);
    expect(log).not.toContain(users.alice);
    expect(log).not.toContain(refreshToken);
    expect(tokens.requests.some((r) => r.grantType === "refresh_token" && r.username === "alice")).toBe(true);
  });

  it("refuses a token request for another service", async () => {
    const res = await call(`${tokens.realm}?service=someone-else&scope=repository:a:pull`);
    expect(res.status).toBe(400);
  });

  it("can turn the OAuth2 POST flow off so clients must fall back to GET", async () => {
    const getOnly = await startTokenServer({ oauth2: false });
    try {
      const res = await call(getOnly.realm, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=password&username=testuser&password=testpassword&client_id=x&service=kit-test-registry",
      });
      expect(res.status).toBe(404);
    } finally {
      await getOnly.stop();
    }
  });
});

describe("fault proxy", () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;
  const users = { bob: "bob-password" };
  const auth = { authorization: basicAuthHeader("bob", users.bob) };
  let image: Awaited<ReturnType<typeof buildImage>>;
  let bigLayer: { digest: string; size: number };

  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd", users });
    proxy = await startFaultProxy({ upstream: registry });
    // Pushed through the proxy: proves upload Locations point back at the proxy.
    image = await buildImage(
      { url: proxy.url, repo: "faults/app", authorization: auth.authorization },
      { tag: "v1", layerSizes: [1000, 8 * 1024 * 1024] },
    );
    bigLayer = image.layers[1]!;
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  const blobUrl = (digest: string) => `${proxy.url}/v2/faults/app/blobs/${digest}`;

  it("forwarded the fixture push, uploads included", () => {
    expect(proxy.count({ method: "PUT", path: /\/blobs\/uploads\// })).toBe(3);
    expect(proxy.requests.every((r) => r.status !== undefined && r.status < 300)).toBe(true);
  });

  it("fires a 503 rule exactly `times` times, then forwards", async () => {
    proxy.resetRequests();
    const rule = proxy.addRule({ method: "GET", path: /\/manifests\/v1$/, times: 2, status: 503, headers: { "Retry-After": "1" } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(`${proxy.url}/v2/faults/app/manifests/v1`, {
        headers: { ...auth, accept: image.manifest.mediaType },
      });
      statuses.push(res.status);
      if (res.status === 503) expect(res.headers["retry-after"]).toBe("1");
      else expect(sha256(res.body)).toBe(image.digest);
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(rule.fired).toBe(2);
    expect(proxy.count({ method: "GET", path: /\/manifests\// })).toBe(3);
  });

  it("corrupts one byte of a blob body, keeping its length", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, corruptBody: true, corruptAt: 12345 });
    const bad = await call(blobUrl(bigLayer.digest), { headers: auth });
    expect(bad.status).toBe(200);
    expect(bad.body.length).toBe(bigLayer.size);
    expect(sha256(bad.body)).not.toBe(bigLayer.digest);
    const good = await call(blobUrl(bigLayer.digest), { headers: auth });
    expect(sha256(good.body)).toBe(bigLayer.digest);
  });

  it("replaces a response header with a lying digest", async () => {
    const lie = `sha256:${"0".repeat(64)}`;
    proxy.addRule({ method: "GET", path: /\/manifests\//, replaceHeader: { "Docker-Content-Digest": lie } });
    const res = await call(`${proxy.url}/v2/faults/app/manifests/v1`, { headers: { ...auth, accept: image.manifest.mediaType } });
    expect(res.headers["docker-content-digest"]).toBe(lie);
    expect(sha256(res.body)).toBe(image.digest);
  });

  it("resets the connection", async () => {
    const rule = proxy.addRule({ method: "GET", path: /\/blobs\//, resetConnection: true });
    await expect(call(blobUrl(bigLayer.digest), { headers: auth })).rejects.toThrow();
    expect(rule.fired).toBe(1);
  });

  it("cuts a response after exactly resetAfterBytes body bytes", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, resetAfterBytes: 100_000 });
    const received = await new Promise<{ bytes: number; complete: boolean; length: string | undefined }>((resolve) => {
      const req = http.get(blobUrl(bigLayer.digest), { headers: auth, agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => (bytes += chunk.length));
        res.on("close", () => resolve({ bytes, complete: res.complete, length: res.headers["content-length"] }));
      });
      req.on("error", () => {});
    });
    expect(received).toEqual({ bytes: 100_000, complete: false, length: String(bigLayer.size) });
  });

  it("redirects a blob to another origin that needs no Authorization, and records whether one was sent", async () => {
    proxy.resetRequests();
    proxy.addRule({ method: "GET", path: /\/blobs\//, redirectTo: "other-origin" });
    const redirect = await call(blobUrl(bigLayer.digest), { headers: auth });
    expect(redirect.status).toBe(307);
    const location = String(redirect.headers.location);
    expect(new URL(location).host).toBe(proxy.otherOrigin.host);
    expect(new URL(location).host).not.toBe(proxy.host);
    const followed = await call(location);
    expect(followed.status).toBe(200);
    expect(sha256(followed.body)).toBe(bigLayer.digest);
    const leaky = await call(location, { headers: auth });
    expect(leaky.status).toBe(200);
    expect(proxy.requests.filter((r) => r.listener === "other").map((r) => r.hasAuthorization)).toEqual([false, true]);
    expect((await call(`${proxy.otherOrigin.url}/v2/faults/app/blobs/${bigLayer.digest}`)).status).toBe(403);
  });

  it("can make the other origin refuse Authorization like a presigned-URL store", async () => {
    const strict = await startFaultProxy({
      upstream: registry,
      otherOriginRejectsAuthorization: true,
      rules: [{ method: "GET", path: /\/blobs\//, redirectTo: "other-origin", times: 2 }],
    });
    try {
      const url = `${strict.url}/v2/faults/app/blobs/${image.layers[0]!.digest}`;
      const location = String((await call(url, { headers: auth })).headers.location);
      expect((await call(location, { headers: auth })).status).toBe(400);
      expect((await call(location)).status).toBe(200);
    } finally {
      await strict.stop();
    }
  });

  it("redirects to the same origin", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, redirectTo: "same-origin" });
    const redirect = await call(blobUrl(image.layers[0]!.digest), { headers: auth });
    expect(redirect.status).toBe(307);
    const location = String(redirect.headers.location);
    expect(new URL(location).host).toBe(proxy.host);
    const followed = await call(location, { headers: auth });
    expect(followed.status).toBe(200);
    expect(sha256(followed.body)).toBe(image.layers[0]!.digest);
  });
});

describe("image fixtures", () => {
  let registry: RunningRegistry;
  const dirs: string[] = [];
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("pushes an image index that skopeo reads back byte for byte", async () => {
    const built = await buildImageIndex(
      { url: registry.url, repo: "fixtures/app" },
      { platforms: ["linux/amd64", "linux/arm64/v8"], layerSizes: [3000, 2 * 1024 * 1024], sharedLayerSizes: [5000], tag: "v1" },
    );
    expect(built.images).toHaveLength(2);
    // one shared layer + 2 own layers per platform + 2 configs
    expect(built.blobs).toHaveLength(1 + 4 + 2);
    expect(built.descriptors).toHaveLength(1 + 2 + 7);

    const raw = await skopeoBytes(["inspect", "--raw", `docker://${registry.host}/fixtures/app@${built.digest}`]);
    expect(sha256(raw)).toBe(built.digest);
    expect(raw.equals(built.indexBytes)).toBe(true);
    const byTag = await skopeoBytes(["inspect", "--raw", `docker://${registry.host}/fixtures/app:v1`]);
    expect(sha256(byTag)).toBe(built.digest);
    const arm = built.images[1]!;
    expect(arm.manifest.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    const armRaw = await skopeoBytes(["inspect", "--raw", `docker://${registry.host}/fixtures/app@${arm.manifest.digest}`]);
    expect(armRaw.equals(arm.manifestBytes)).toBe(true);
    const tags = JSON.parse(await skopeo(["list-tags", `docker://${registry.host}/fixtures/app`]));
    expect(tags.Tags).toEqual(["v1"]);

    for (const blob of built.blobs) {
      const res = await call(`${registry.url}/v2/fixtures/app/blobs/${blob.digest}`);
      expect(res.status).toBe(200);
      expect(sha256(res.body)).toBe(blob.digest);
      const regenerated: Buffer[] = [];
      for await (const chunk of built.readBlob(blob.digest)) regenerated.push(chunk as Buffer);
      expect(Buffer.concat(regenerated).equals(res.body)).toBe(true);
    }
  });

  it("writes the same index as an OCI layout when given the same seed", async () => {
    const options = { platforms: ["linux/amd64", "linux/arm64"], layerSizes: [4096, 100_000], tag: "v2" };
    const pushed = await buildImageIndex({ url: registry.url, repo: "fixtures/layout" }, options);
    const dir = await mkdtemp(join(tmpdir(), "kit-layout-fixture-"));
    dirs.push(dir);
    const written = await writeImageIndexLayout(dir, { ...options, seed: pushed.seed });
    expect(written.digest).toBe(pushed.digest);

    const raw = await skopeoBytes(["inspect", "--raw", `oci:${dir}:v2`]);
    expect(sha256(raw)).toBe(pushed.digest);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    expect(index.manifests).toEqual([
      { mediaType: pushed.index.mediaType, digest: pushed.digest, size: pushed.index.size, annotations: { "org.opencontainers.image.ref.name": "v2" } },
    ]);
    const files = (await readdir(join(dir, "blobs", "sha256"))).sort();
    expect(files).toEqual(written.descriptors.map((d) => d.digest.slice("sha256:".length)).sort());
    for (const name of files) {
      expect(sha256(await readFile(join(dir, "blobs", "sha256", name)))).toBe(`sha256:${name}`);
    }
    // different seed, different content
    const other = await writeImageIndexLayout(dir, { ...options, tag: "v3" });
    expect(other.digest).not.toBe(pushed.digest);
  });

  it("builds Docker schema 2 manifest lists too", async () => {
    const built = await buildImageIndex({ url: registry.url, repo: "fixtures/docker" }, { format: "docker", tag: "d1" });
    const raw = JSON.parse(await skopeo(["inspect", "--raw", `docker://${registry.host}/fixtures/docker:d1`]));
    expect(raw.mediaType).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
    expect(sha256(built.indexBytes)).toBe(built.digest);
  });
});
