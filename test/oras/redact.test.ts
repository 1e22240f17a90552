/** Redaction: a client's own secrets in every spelling, and the credential patterns for text nobody registered. */
import { describe, expect, it } from "vitest";
import { displayUrl, jsonErrorWithoutInput, REDACTED, Redactor, redactPatterns } from "../../src/oras/redact.js";

const PASSWORD = "s3cret Pa55/word+x";
const PAIR = `alice:${PASSWORD}`;
const BASIC = Buffer.from(PAIR).toString("base64");

describe("Redactor", () => {
  it("blanks a registered secret as is, percent-encoded, form-encoded and JSON-escaped", () => {
    const r = new Redactor();
    r.add(PASSWORD);
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), new URLSearchParams({ p: PASSWORD }).toString().slice(2)]) {
      expect(r.redact(`he said ${form}.`)).toBe(`he said ${REDACTED}.`);
    }
    const quoted = new Redactor();
    quoted.add('pa"ss\\word');
    expect(quoted.redact(JSON.stringify({ echo: 'pa"ss\\word' }))).not.toContain("ss\\\\word");
  });

  it("replaces the longest secret first, so no part of user:password is left", () => {
    const r = new Redactor();
    r.add(PASSWORD);
    r.add(PAIR);
    expect(r.redact(`got ${PAIR}`)).toBe(`got ${REDACTED}`);
  });

  it("ignores empty and very short secrets, leaving them to the patterns", () => {
    const r = new Redactor();
    r.add("");
    r.add("ab");
    r.add(undefined);
    expect(r.redact("a tab and a cab")).toBe("a tab and a cab");
  });

  it("is per instance: one client's secrets are not another's", () => {
    const a = new Redactor();
    const b = new Redactor();
    a.add("token-of-client-a");
    expect(a.redact("token-of-client-a")).toBe(REDACTED);
    expect(b.redact("token-of-client-a")).toBe("token-of-client-a");
  });

  it("keeps a bounded number of secrets, forgetting the oldest", () => {
    const r = new Redactor();
    for (let i = 0; i < 2000; i++) r.add(`secret-number-${i}`);
    expect(r.redact("secret-number-1999")).toBe(REDACTED);
    expect(r.redact("secret-number-0")).toBe("secret-number-0");
  });

  it("redacts every string of a JSON value, keys included, and replaces what is nested too deep", () => {
    const r = new Redactor();
    r.add(PASSWORD);
    const detail = { header: [`Basic ${BASIC}`], [PASSWORD]: { n: 1, ok: true, none: null, text: `x ${PASSWORD}` } };
    expect(r.redactValue(detail)).toEqual({ header: [`Basic ${REDACTED}`], [REDACTED]: { n: 1, ok: true, none: null, text: `x ${REDACTED}` } });
    let deep: unknown = PASSWORD;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(JSON.stringify(r.redactValue(deep))).not.toContain("Pa55");
  });
});

describe("redactPatterns", () => {
  it("blanks Basic and Bearer credentials, not prose about them", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    expect(redactPatterns(`bad header Basic ${BASIC} here`)).toBe(`bad header Basic ${REDACTED} here`);
    expect(redactPatterns(`token bearer ${jwt}`)).toBe(`token bearer ${REDACTED}`);
    expect(redactPatterns("Bearer authentication required; basic auth off")).toBe("Bearer authentication required; basic auth off");
    expect(redactPatterns('asked for a bearer token without naming a token service')).toBe("asked for a bearer token without naming a token service");
    // A challenge's parameters are not a token68.
    expect(redactPatterns('Bearer realm="https://auth.example/token",service="reg"')).toBe('Bearer realm="https://auth.example/token",service="reg"');
  });

  it("blanks echoed Authorization, Proxy-Authorization and Cookie headers whatever their scheme", () => {
    expect(redactPatterns("request had Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc")).toBe(`request had Authorization: ${REDACTED}`);
    expect(redactPatterns("Proxy-Authorization: Basic Zm9vOmJhcg==")).toBe(`Proxy-Authorization: ${REDACTED}`);
    expect(redactPatterns("cookie=session-abc123")).toBe(`cookie=${REDACTED}`);
  });

  it("blanks secret fields in JSON text", () => {
    const text = JSON.stringify({ Authorization: `Basic ${BASIC}`, refresh_token: "r-123\"x", password: "pw", user: "alice" });
    const out = redactPatterns(text);
    expect(out).not.toContain(BASIC);
    expect(out).not.toContain("r-123");
    expect(out).not.toContain('"pw"');
    expect(JSON.parse(out)).toEqual({ Authorization: REDACTED, refresh_token: REDACTED, password: REDACTED, user: "alice" });
  });

  it("blanks user-info in URLs, keeping a user name but not a password or a token used as one", () => {
    expect(redactPatterns("via http://bob:hunter2@proxy.example:3128/")).toBe(`via http://bob:${REDACTED}@proxy.example:3128/`);
    expect(redactPatterns("see https://ghp_abcdef123@github.com/x")).toBe(`see https://${REDACTED}@github.com/x`);
    expect(redactPatterns("mail me@example.com")).toBe("mail me@example.com");
  });

  it("blanks query and form parameters that carry secrets, keeping the others", () => {
    expect(redactPatterns("GET https://s3.example/b?X-Amz-Credential=AKIA&X-Amz-Signature=deadbeef&partNumber=2")).toBe(
      `GET https://s3.example/b?X-Amz-Credential=${REDACTED}&X-Amz-Signature=${REDACTED}&partNumber=2`,
    );
    expect(redactPatterns("/v2/a/blobs/uploads/u?_state=abc.def&digest=sha256:1")).toBe(`/v2/a/blobs/uploads/u?_state=${REDACTED}&digest=sha256:1`);
    expect(redactPatterns("grant_type=refresh_token&refresh_token=r123&client_id=kit")).toBe(`grant_type=refresh_token&refresh_token=${REDACTED}&client_id=kit`);
    expect(redactPatterns("realm https://auth.example/token?access_token=t0k&service=reg")).toBe(`realm https://auth.example/token?access_token=${REDACTED}&service=reg`);
  });

  it("leaves kit's own messages alone", () => {
    for (const text of [
      "kit: error: 127.0.0.1:5000 answered 500 to fetch manifest team/app:v1: server error",
      "kit: hint: run `kit login 127.0.0.1:5000` with credentials that can access it",
      "kit: error: examples/famiglia/kit.yaml:12:14: resources.memory_mb: must be <= max_memory_mb (4096)",
      "kit: error: copy: writing to the destination 127.0.0.1:5000/a/b:v1: digest mismatch for blob sha256:ab: expected sha256:ab, got sha256:cd",
    ]) {
      expect(redactPatterns(text)).toBe(text);
    }
  });
});

describe("displayUrl and jsonErrorWithoutInput", () => {
  it("shows a URL without user-info, query or fragment", () => {
    expect(displayUrl(new URL("https://u:p@reg.example:5000/v2/a/blobs/uploads/x?_state=s#f"))).toBe("https://reg.example:5000/v2/a/blobs/uploads/x");
  });

  it("drops the excerpt of the input V8 quotes in a JSON syntax error", () => {
    const secret = "dXNlcjpwYXNzd29yZA==";
    for (const text of [`{"auths":{"r":{"auth":${secret}}}}`, `{"a":x${secret}}`, `{"auth":"${secret}"`]) {
      let message = "";
      try {
        JSON.parse(text);
      } catch (err) {
        message = jsonErrorWithoutInput(err);
      }
      expect(message).not.toBe("");
      expect(message).not.toContain("dXNl");
    }
  });
});
