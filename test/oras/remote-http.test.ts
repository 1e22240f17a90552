import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DeniedError, NetworkError, RegistryError, UnauthorizedError } from "../../src/oras/errors.js";
import { MAX_REDIRECTS, MAX_WWW_AUTHENTICATE_BYTES } from "../../src/oras/limits.js";
import { AuthCache, authLayer } from "../../src/oras/remote/auth/client.js";
import type { Credential } from "../../src/oras/remote/auth/credentials.js";
import { composeOutermostFirst, type HttpRequest, type HttpResponse, type ResponseBody, type Send } from "../../src/oras/remote/http.js";
import { redirectedRequest, redirectLayer, withoutCredentials } from "../../src/oras/remote/redirect.js";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  retryDelay,
  retryLayer,
  type RetryPolicy,
} from "../../src/oras/remote/retry.js";

function body(text = ""): ResponseBody {
  return Readable.from(text === "" ? [] : [Buffer.from(text)]);
}

function response(req: HttpRequest, status: number, headers: Record<string, string> = {}, text = ""): HttpResponse {
  return { status, headers, body: body(text), method: req.method, url: req.url };
}

function request(url: string, extra: Partial<HttpRequest> = {}): HttpRequest {
  return { method: "GET", url: new URL(url), headers: {}, ...extra };
}

/** A Send that answers from a script and records what it was sent. */
function scripted(answers: Array<(req: HttpRequest) => HttpResponse | Error>): Send & { seen: HttpRequest[] } {
  const seen: HttpRequest[] = [];
  const send = (async (req: HttpRequest) => {
    seen.push(req);
    const next = answers.shift();
    if (!next) throw new Error(`unexpected request ${req.method} ${req.url.href}`);
    const out = next(req);
    if (out instanceof Error) throw out;
    return out;
  }) as Send & { seen: HttpRequest[] };
  send.seen = seen;
  return send;
}

function resetError(host = "r.example"): NetworkError {
  const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  return new NetworkError(`cannot reach ${host}: connection reset`, { cause });
}

describe("backoff and Retry-After", () => {
  const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, maxTotalWaitMs: 5000 };

  it("doubles per failure with equal jitter between half and all of the step", () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(2, policy, () => 0)).toBe(100);
    expect(backoffDelay(3, policy, () => 1)).toBe(400);
  });

  it("caps the step at maxDelayMs", () => {
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
    expect(backoffDelay(60, policy, () => 0)).toBe(500);
  });

  it("parses delta-seconds and HTTP dates, ignoring junk", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-3", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("prefers the server's Retry-After but caps it", () => {
    expect(retryDelay(1, 300, policy, () => 1)).toBe(300);
    expect(retryDelay(1, 3_600_000, policy)).toBe(1000);
    expect(retryDelay(2, undefined, policy, () => 0)).toBe(100);
  });
});

describe("retryLayer", () => {
  const sleeps: number[] = [];
  const fastRetry = (policy: Partial<RetryPolicy> = {}) =>
    retryLayer({ policy, random: () => 0, sleep: async (ms) => void sleeps.push(ms) });

  it("retries 503 honouring Retry-After, then returns the success", async () => {
    sleeps.length = 0;
    const base = scripted([
      (r) => response(r, 503, { "retry-after": "2" }),
      (r) => response(r, 429),
      (r) => response(r, 200, {}, "ok"),
    ]);
    const res = await composeOutermostFirst(base, fastRetry())(request("https://r.example/v2/"));
    expect(res.status).toBe(200);
    expect(base.seen).toHaveLength(3);
    expect(sleeps).toEqual([2000, DEFAULT_RETRY_POLICY.baseDelayMs]);
  });

  it("stops after maxAttempts and hands back the last failure response", async () => {
    const base = scripted([(r) => response(r, 502), (r) => response(r, 502), (r) => response(r, 500)]);
    const res = await composeOutermostFirst(base, fastRetry({ maxAttempts: 3 }))(request("https://r.example/v2/"));
    expect(res.status).toBe(500);
    expect(base.seen).toHaveLength(3);
  });

  it("gives up early when the next wait would pass the total budget", async () => {
    sleeps.length = 0;
    const base = scripted([(r) => response(r, 503, { "retry-after": "4" }), (r) => response(r, 503, { "retry-after": "4" })]);
    const res = await composeOutermostFirst(base, fastRetry({ maxTotalWaitMs: 5000 }))(request("https://r.example/v2/"));
    expect(res.status).toBe(503);
    expect(base.seen).toHaveLength(2);
    expect(sleeps).toEqual([4000]);
  });

  it("retries connection resets and rethrows the last one", async () => {
    const ok = scripted([() => resetError(), (r) => response(r, 200)]);
    expect((await composeOutermostFirst(ok, fastRetry())(request("https://r.example/v2/"))).status).toBe(200);
    const bad = scripted([() => resetError(), () => resetError()]);
    await expect(composeOutermostFirst(bad, fastRetry({ maxAttempts: 2 }))(request("https://r.example/v2/"))).rejects.toBeInstanceOf(NetworkError);
  });

  it("does not retry other statuses or non-network errors", async () => {
    const notFound = scripted([(r) => response(r, 404)]);
    expect((await composeOutermostFirst(notFound, fastRetry())(request("https://r.example/v2/x"))).status).toBe(404);
    const boom = scripted([() => new RegistryError("nope")]);
    await expect(composeOutermostFirst(boom, fastRetry())(request("https://r.example/v2/"))).rejects.toBeInstanceOf(RegistryError);
    expect(boom.seen).toHaveLength(1);
  });

  it("re-sends bytes and factory bodies but never a stream", async () => {
    const bytes = scripted([(r) => response(r, 503), (r) => response(r, 201)]);
    await composeOutermostFirst(bytes, fastRetry())(request("https://r.example/up", { method: "PUT", body: Buffer.from("abc") }));
    expect(bytes.seen).toHaveLength(2);

    let made = 0;
    // Like undici's send, each attempt materialises the body afresh.
    const fresh = (status: number) => (r: HttpRequest) => ((r.body as () => Readable)(), response(r, status));
    const factory = scripted([fresh(503), fresh(201)]);
    await composeOutermostFirst(factory, fastRetry())(
      request("https://r.example/up", { method: "PUT", body: () => (made++, Readable.from([Buffer.from("x")])) }),
    );
    expect(factory.seen).toHaveLength(2);
    expect(made).toBe(2);

    const stream = scripted([(r) => response(r, 503)]);
    const res = await composeOutermostFirst(stream, fastRetry())(request("https://r.example/up", { method: "PUT", body: Readable.from([Buffer.from("x")]) }));
    expect(res.status).toBe(503);
    expect(stream.seen).toHaveLength(1);
  });
});

describe("redirects", () => {
  const withAuth = (url: string, extra: Partial<HttpRequest> = {}) =>
    request(url, { headers: { authorization: "Bearer secret-token", accept: "application/json", cookie: "c=1" }, ...extra });

  it("keeps credentials on a same-origin redirect", () => {
    const req = withAuth("https://r.example/v2/a/blobs/sha256:1");
    const next = redirectedRequest(req, 307, new URL("/v2/a/blobs/elsewhere", req.url), req.url.origin);
    expect(next.headers.authorization).toBe("Bearer secret-token");
    expect(next.url.href).toBe("https://r.example/v2/a/blobs/elsewhere");
  });

  it("drops credentials on any other origin: host, port or scheme", () => {
    const req = withAuth("http://r.example:5000/v2/a/blobs/sha256:1");
    for (const target of ["http://cdn.example:5000/x", "http://r.example:5001/x", "https://r.example:5000/x"]) {
      const next = redirectedRequest(req, 307, new URL(target), req.url.origin);
      expect(next.headers.authorization).toBeUndefined();
      expect(next.headers.cookie).toBeUndefined();
      expect(next.headers.accept).toBe("application/json");
    }
    expect(withoutCredentials({ Authorization: "x", "Proxy-Authorization": "y", range: "bytes=0-" })).toEqual({ range: "bytes=0-" });
  });

  it("refuses an HTTPS to HTTP downgrade and non-HTTP schemes", () => {
    const req = withAuth("https://r.example/v2/");
    expect(() => redirectedRequest(req, 302, new URL("http://r.example/v2/"), req.url.origin)).toThrow(RegistryError);
    expect(() => redirectedRequest(req, 302, new URL("file:///etc/passwd"), req.url.origin)).toThrow(RegistryError);
  });

  it("turns 303 (and 301/302 after POST) into a GET without body, keeps method and body for 307/308", () => {
    const post = withAuth("https://r.example/up", { method: "POST", body: Buffer.from("x"), headers: { "content-type": "text/plain" } });
    const after303 = redirectedRequest(post, 303, new URL("https://r.example/status"), post.url.origin);
    expect(after303.method).toBe("GET");
    expect(after303.body).toBeUndefined();
    expect(after303.headers["content-type"]).toBeUndefined();
    const after307 = redirectedRequest(post, 307, new URL("https://r.example/up2"), post.url.origin);
    expect(after307.method).toBe("POST");
    expect(after307.body).toEqual(Buffer.from("x"));
  });

  it("refuses to follow a 307 whose streamed body cannot be sent again", () => {
    const put = request("https://r.example/up", { method: "PUT", body: Readable.from([Buffer.from("x")]) });
    expect(() => redirectedRequest(put, 307, new URL("https://r.example/up2"), put.url.origin)).toThrow(/cannot be sent again/);
  });

  it("follows relative Locations, drops credentials at another origin, caps hops", async () => {
    const base = scripted([
      (r) => response(r, 302, { location: "/v2/next" }),
      (r) => response(r, 307, { location: "https://cdn.example/blob?sig=1" }),
      (r) => response(r, 200, {}, "data"),
    ]);
    const res = await composeOutermostFirst(base, redirectLayer())(withAuth("https://r.example/v2/start"));
    expect(res.status).toBe(200);
    expect(res.url.href).toBe("https://cdn.example/blob?sig=1");
    expect(base.seen.map((r) => [r.url.href, r.headers.authorization])).toEqual([
      ["https://r.example/v2/start", "Bearer secret-token"],
      ["https://r.example/v2/next", "Bearer secret-token"],
      ["https://cdn.example/blob?sig=1", undefined],
    ]);

    const loop = scripted(Array.from({ length: 10 }, () => (r: HttpRequest) => response(r, 302, { location: r.url.pathname })));
    await expect(composeOutermostFirst(loop, redirectLayer(3))(request("https://r.example/a"))).rejects.toThrow(/too many redirects/);
    expect(loop.seen).toHaveLength(4);
  });

  it(`follows up to MAX_REDIRECTS (${MAX_REDIRECTS}) hops by default and refuses the next`, async () => {
    const hop = (r: HttpRequest) => response(r, 302, { location: `${r.url.pathname}x` });
    const ok = scripted([...Array.from({ length: MAX_REDIRECTS }, () => hop), (r) => response(r, 200)]);
    expect((await composeOutermostFirst(ok, redirectLayer())(request("https://r.example/a"))).status).toBe(200);
    const loop = scripted(Array.from({ length: MAX_REDIRECTS + 1 }, () => hop));
    await expect(composeOutermostFirst(loop, redirectLayer())(request("https://r.example/a"))).rejects.toThrow(/too many redirects \(more than 10\)/);
    expect(loop.seen).toHaveLength(MAX_REDIRECTS + 1);
  });
});

describe("authLayer", () => {
  const origin = "https://reg.example";
  const realm = "https://auth.example/token";
  const challenge = `Bearer realm="${realm}",service="reg.example",scope="repository:team/app:pull"`;

  function setup(
    cred: Credential | undefined,
    tokenAnswers: Array<(req: HttpRequest) => HttpResponse>,
    registryAnswers: Array<(req: HttpRequest) => HttpResponse>,
    extra: { clientId?: string } = {},
  ) {
    const tokenSend = scripted(tokenAnswers);
    const registry = scripted(registryAnswers);
    const send = composeOutermostFirst(
      registry,
      authLayer({ registry: "reg.example", origin, cache: new AuthCache(), tokenSend, credentials: async () => cred, ...extra }),
    );
    return { send, tokenSend, registry };
  }
  const token = (value: string, expires?: number) => (r: HttpRequest) =>
    response(r, 200, {}, JSON.stringify(expires ? { token: value, expires_in: expires } : { access_token: value }));

  it("refuses a WWW-Authenticate header past its length limit, naming the registry", async () => {
    const long = `${challenge},x="${"y".repeat(MAX_WWW_AUTHENTICATE_BYTES)}"`;
    const { send, tokenSend } = setup(undefined, [], [(r) => response(r, 401, { "www-authenticate": long })]);
    await expect(send(request(`${origin}/v2/team/app/manifests/v1`))).rejects.toThrow(/WWW-Authenticate header from reg.example \(\d+ bytes\) exceeds the limit of 8192 bytes/);
    expect(tokenSend.seen).toHaveLength(0);
  });

  it("answers a Bearer challenge, then reuses the token up front for the same scopes", async () => {
    const { send, tokenSend, registry } = setup(
      { username: "alice", password: "pw" },
      [token("T1")],
      [(r) => response(r, 401, { "www-authenticate": challenge }), (r) => response(r, 200), (r) => response(r, 200)],
    );
    const scopes = ["repository:team/app:pull"];
    await send(request(`${origin}/v2/team/app/manifests/v1`, { scopes }));
    await send(request(`${origin}/v2/team/app/blobs/sha256:1`, { scopes }));
    expect(tokenSend.seen).toHaveLength(1);
    const tokenUrl = tokenSend.seen[0]!.url;
    expect(tokenUrl.searchParams.get("service")).toBe("reg.example");
    expect(tokenUrl.searchParams.getAll("scope")).toEqual(["repository:team/app:pull"]);
    expect(tokenSend.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from("alice:pw").toString("base64")}`);
    expect(registry.seen.map((r) => r.headers.authorization)).toEqual([undefined, "Bearer T1", "Bearer T1"]);
  });

  it("fetches a new token up front, without a 401, when a request needs other scopes", async () => {
    const { send, tokenSend, registry } = setup(
      undefined,
      [token("PULL"), token("PUSH")],
      [(r) => response(r, 401, { "www-authenticate": challenge }), (r) => response(r, 200), (r) => response(r, 202)],
    );
    await send(request(`${origin}/v2/team/app/manifests/v1`, { scopes: ["repository:team/app:pull"] }));
    await send(request(`${origin}/v2/team/app/blobs/uploads/`, { method: "POST", scopes: ["repository:team/app:pull,push"] }));
    expect(tokenSend.seen.map((r) => r.url.searchParams.getAll("scope"))).toEqual([["repository:team/app:pull"], ["repository:team/app:pull,push"]]);
    expect(tokenSend.seen.every((r) => r.headers.authorization === undefined)).toBe(true);
    expect(registry.seen.map((r) => r.headers.authorization)).toEqual([undefined, "Bearer PULL", "Bearer PUSH"]);
  });

  it("fetches again once a token has expired", async () => {
    let now = 0;
    const tokenSend = scripted([token("OLD", 60), token("NEW", 60)]);
    const registry = scripted([(r) => response(r, 401, { "www-authenticate": challenge }), (r) => response(r, 200), (r) => response(r, 200)]);
    const send = composeOutermostFirst(registry, authLayer({ registry: "reg.example", origin, cache: new AuthCache(() => now), tokenSend }));
    const scopes = ["repository:team/app:pull"];
    await send(request(`${origin}/v2/team/app/manifests/v1`, { scopes }));
    now += 61_000;
    await send(request(`${origin}/v2/team/app/manifests/v1`, { scopes }));
    expect(registry.seen.map((r) => r.headers.authorization)).toEqual([undefined, "Bearer OLD", "Bearer NEW"]);
  });

  it("exchanges an identity token by OAuth2 POST with the client_id it is given", async () => {
    const { send, tokenSend } = setup({ identityToken: "refresh-1" }, [token("T")], [
      (r) => response(r, 401, { "www-authenticate": challenge }),
      (r) => response(r, 200),
    ], { clientId: "kit" });
    await send(request(`${origin}/v2/team/app/manifests/v1`, { scopes: ["repository:team/app:pull"] }));
    const post = tokenSend.seen[0]!;
    expect(post.method).toBe("POST");
    const form = new URLSearchParams(String(post.body));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "refresh_token",
      refresh_token: "refresh-1",
      client_id: "kit",
      service: "reg.example",
      scope: "repository:team/app:pull",
    });
  });

  it("says 'invalid credentials' when the token service refuses them, and never echoes them", async () => {
    const { send } = setup({ username: "alice", password: "hunter2" }, [(r) => response(r, 401)], [
      (r) => response(r, 401, { "www-authenticate": challenge }),
    ]);
    const err = await send(request(`${origin}/v2/`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe("invalid credentials for reg.example");
    expect((err as UnauthorizedError).hint).toContain("login reg.example");
    expect(JSON.stringify({ m: (err as Error).message, h: (err as UnauthorizedError).hint })).not.toContain("hunter2");
  });

  it("distinguishes 'authentication required' (anonymous) from 'denied' (token lacks the scope)", async () => {
    const anon = setup(undefined, [token("T")], [
      (r) => response(r, 401, { "www-authenticate": challenge }),
      (r) => response(r, 401, { "www-authenticate": `${challenge},error="insufficient_scope"` }),
    ]);
    await expect(anon.send(request(`${origin}/v2/team/app/manifests/v1`))).rejects.toThrow("authentication required for reg.example");

    const user = setup({ username: "u", password: "p" }, [token("T")], [
      (r) => response(r, 401, { "www-authenticate": challenge }),
      (r) => response(r, 401, { "www-authenticate": `${challenge},error="insufficient_scope"` }),
    ]);
    await expect(user.send(request(`${origin}/v2/team/app/manifests/v1`, { scopes: ["repository:team/app:pull,push"] }))).rejects.toBeInstanceOf(DeniedError);
  });

  it("answers Basic challenges, sends Basic up front afterwards, and reports wrong passwords", async () => {
    const ok = setup({ username: "u", password: "p" }, [], [
      (r) => response(r, 401, { "www-authenticate": 'Basic realm="r"' }),
      (r) => response(r, 200),
      (r) => response(r, 200),
    ]);
    await ok.send(request(`${origin}/v2/`));
    await ok.send(request(`${origin}/v2/a/tags/list`));
    const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
    expect(ok.registry.seen.map((r) => r.headers.authorization)).toEqual([undefined, basic, basic]);

    const wrong = setup({ username: "u", password: "bad" }, [], [
      (r) => response(r, 401, { "www-authenticate": 'Basic realm="r"' }),
      (r) => response(r, 401, { "www-authenticate": 'Basic realm="r"' }),
    ]);
    await expect(wrong.send(request(`${origin}/v2/`))).rejects.toThrow("invalid credentials for reg.example");

    const none = setup(undefined, [], [(r) => response(r, 401, { "www-authenticate": 'Basic realm="r"' })]);
    await expect(none.send(request(`${origin}/v2/`))).rejects.toThrow("authentication required for reg.example");
  });

  it("never attaches credentials to another origin, and leaves its 401s alone", async () => {
    const { send, registry } = setup({ username: "u", password: "p" }, [], [
      (r) => response(r, 401, { "www-authenticate": 'Basic realm="r"' }),
      (r) => response(r, 200),
      (r) => response(r, 401, { "www-authenticate": 'Basic realm="cdn"' }),
    ]);
    await send(request(`${origin}/v2/`));
    const res = await send(request("https://cdn.example/blob"));
    expect(res.status).toBe(401);
    expect(registry.seen[2]!.headers.authorization).toBeUndefined();
  });

  it("refuses to send a password to a plain-HTTP realm of an HTTPS registry", async () => {
    const { send, tokenSend } = setup({ username: "u", password: "p" }, [], [
      (r) => response(r, 401, { "www-authenticate": 'Bearer realm="http://auth.example/token",service="s"' }),
    ]);
    await expect(send(request(`${origin}/v2/`))).rejects.toThrow(/plain-HTTP token service/);
    expect(tokenSend.seen).toHaveLength(0);
  });

  it("shares one token fetch between concurrent requests", async () => {
    const { send, tokenSend } = setup(undefined, [token("T"), token("T2")], [
      (r) => response(r, 401, { "www-authenticate": challenge }),
      (r) => response(r, 200),
      (r) => response(r, 200),
      (r) => response(r, 200),
    ]);
    const scopes = ["repository:team/app:pull"];
    await send(request(`${origin}/v2/team/app/manifests/v1`, { scopes }));
    // Two requests at once needing a token for new scopes make one fetch between them.
    const other = ["repository:team/other:pull"];
    await Promise.all([1, 2].map(() => send(request(`${origin}/v2/team/other/blobs/x`, { scopes: other }))));
    expect(tokenSend.seen).toHaveLength(2);
  });
});
