import { describe, expect, it } from "vitest";
import { parseChallenges, preferredChallenge } from "../../src/oras/remote/auth/challenge.js";
import { normaliseScopes, pullScope, pushScope, repositoryScope, scopeKey } from "../../src/oras/remote/auth/scope.js";

describe("parseChallenges", () => {
  it("parses a distribution Bearer challenge with realm, service and scope", () => {
    const [c, ...rest] = parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push"',
    );
    expect(rest).toEqual([]);
    expect(c).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:team/app:pull,push" },
    });
  });

  it("lower-cases the scheme and parameter names but not values", () => {
    const [c] = parseChallenges('BASIC Realm="My Realm"');
    expect(c).toEqual({ scheme: "basic", params: { realm: "My Realm" } });
  });

  it("splits several challenges in one header, commas inside quotes included", () => {
    const list = parseChallenges('Basic realm="a, b", Bearer realm="https://t.example/token", service="s", error="insufficient_scope"');
    expect(list.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(list[0]!.params).toEqual({ realm: "a, b" });
    expect(list[1]!.params).toEqual({ realm: "https://t.example/token", service: "s", error: "insufficient_scope" });
  });

  // Found by fuzzing: the parameters were a plain object, so "__proto__" set its prototype and was lost.
  it('keeps parameters named "__proto__" and "constructor" as parameters', () => {
    const [c] = parseChallenges('Bearer __proto__="x", constructor="y", realm="r"');
    expect(Object.entries(c!.params)).toEqual([
      ["__proto__", "x"],
      ["constructor", "y"],
      ["realm", "r"],
    ]);
    expect(parseChallenges("Bearer realm=r")[0]!.params.constructor).toBeUndefined();
  });

  it("unescapes backslash escapes in quoted values", () => {
    const [c] = parseChallenges('Bearer realm="say \\"hi\\" \\\\ there"');
    expect(c!.params.realm).toBe('say "hi" \\ there');
  });

  it("accepts whitespace around '=' and unquoted values, including bare URLs", () => {
    const [c] = parseChallenges("Bearer realm = https://auth.example.com/token , service=reg");
    expect(c!.params).toEqual({ realm: "https://auth.example.com/token", service: "reg" });
  });

  it("reads challenges spread over several header lines", () => {
    const list = parseChallenges(['Basic realm="x"', 'Bearer realm="y"']);
    expect(list.map((c) => [c.scheme, c.params.realm])).toEqual([
      ["basic", "x"],
      ["bearer", "y"],
    ]);
  });

  it("recognises a token68 after a scheme and keeps parsing the next challenge", () => {
    const list = parseChallenges('Negotiate abc123==, Basic realm="r"');
    expect(list[0]).toEqual({ scheme: "negotiate", params: {}, token68: "abc123==" });
    expect(list[1]).toEqual({ scheme: "basic", params: { realm: "r" } });
  });

  it("handles a scheme with no parameters and empty or missing input", () => {
    expect(parseChallenges("Basic")).toEqual([{ scheme: "basic", params: {} }]);
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it("keeps what it can from an unterminated quoted value", () => {
    const [c] = parseChallenges('Bearer realm="https://x.example/token');
    expect(c!.params.realm).toBe("https://x.example/token");
  });

  it("prefers Bearer, then Basic", () => {
    expect(preferredChallenge(parseChallenges('Basic realm="a", Bearer realm="b"'))?.scheme).toBe("bearer");
    expect(preferredChallenge(parseChallenges('Foo x=1, Basic realm="a"'))?.scheme).toBe("basic");
    expect(preferredChallenge([])).toBeUndefined();
  });
});

describe("scopes", () => {
  it("builds repository scopes", () => {
    expect(pullScope("team/app")).toBe("repository:team/app:pull");
    expect(pushScope("team/app")).toBe("repository:team/app:pull,push");
    expect(repositoryScope("a", "delete")).toBe("repository:a:delete");
  });

  it("merges actions per resource and sorts, so equal needs give equal keys", () => {
    expect(normaliseScopes(["repository:b:push", "repository:a:pull", "repository:b:pull"])).toEqual([
      "repository:a:pull",
      "repository:b:pull,push",
    ]);
    expect(scopeKey(["repository:a:push,pull"])).toBe(scopeKey(["repository:a:pull", "repository:a:push"]));
    expect(scopeKey(["repository:a:pull"])).not.toBe(scopeKey(["repository:a:pull,push"]));
  });

  it("lets '*' absorb other actions and splits space-separated scope lists", () => {
    expect(normaliseScopes(["repository:a:pull repository:a:*"])).toEqual(["repository:a:*"]);
  });

  it("keeps a host:port inside the resource name", () => {
    expect(normaliseScopes(["repository:localhost:5000/app:pull", "repository:localhost:5000/app:push"])).toEqual([
      "repository:localhost:5000/app:pull,push",
    ]);
  });

  it("keeps unparseable scopes verbatim and drops empty ones", () => {
    expect(normaliseScopes(["weird", "", "registry:catalog:*"])).toEqual(["registry:catalog:*", "weird"]);
  });
});
