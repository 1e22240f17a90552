/**
 * A registry (or token service) that quotes the request's Authorization header, or the token form with
 * its password or refresh token, back in its error body: every secret the client sent is redacted in
 * the error's message, hint, stack and in the `response` kept on it — for Basic, bearer, identity and
 * registry tokens, JSON and plain-text bodies, and through withContext.
 */
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { OciError, withContext } from "../../src/oras/errors.js";
import { REDACTED } from "../../src/oras/redact.js";
import { staticCredentials, type Credential } from "../../src/oras/remote/auth/credentials.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { RemoteRepository } from "../../src/oras/remote/repository.js";
import { startEchoRegistry, type EchoRegistry, type EchoRegistryOptions } from "../support/echo-registry.js";
import { startTokenServer, type TokenServer } from "../support/token-server.js";

const USER = "alice";
const PASSWORD = "echo-Pa55word-9";
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
const IDENTITY_TOKEN = "identity-refresh-token-77";
const REGISTRY_TOKEN = "registry-bearer-token-88";
/** Every JWT starts with base64url of `{"`: none may surface, whichever token it is. */
const JWT = /eyJ[A-Za-z0-9_-]+/;

let peer: EchoRegistry | undefined;
afterEach(async () => {
  await peer?.stop();
  peer = undefined;
});

/** The error a fetch through the echoing peer ends with. */
async function failure(opts: EchoRegistryOptions, cred: Credential, call: "resolve" | "ping" = "resolve"): Promise<OciError> {
  peer = await startEchoRegistry(opts);
  const options = { credentials: staticCredentials({ [peer.host]: cred }), retry: { maxAttempts: 1 } };
  const err =
    call === "ping"
      ? await new RemoteRegistry(peer.host, options).ping().catch((e: unknown) => e)
      : await new RemoteRepository({ registry: peer.host, repository: "team/app" }, options).fetchManifest("v1").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OciError);
  expect(peer.echoed).toBeGreaterThan(0);
  return err as OciError;
}

/** Everything of an error a user or a caller could see. */
function everything(err: OciError): string {
  return [err.message, err.hint ?? "", err.stack ?? "", JSON.stringify(err.response ?? null)].join("\n");
}

function expectClean(err: OciError, ...secrets: string[]): void {
  const text = everything(err);
  for (const secret of [PASSWORD, BASIC, ...secrets]) expect(text).not.toContain(secret);
  expect(text).not.toMatch(JWT);
}

describe("an error body quoting the client's credentials back", () => {
  it("Basic: the password and its base64 are redacted in a 403's message and its kept response", async () => {
    const err = await failure({ challenge: "basic", status: 403 }, { username: USER, password: PASSWORD });
    expect(err.code).toBe("DENIED");
    expect(err.message).toContain(`Authorization: ${REDACTED}`);
    expect(err.response?.errors[0]?.message).toContain(REDACTED);
    // The bare base64, with no "Basic " to give it away, is caught because the client knows it sent it.
    expect(err.response?.errors[0]?.detail).toEqual({ echo: `Authorization: ${REDACTED}`, credentials: [REDACTED] });
    expectClean(err);
    // A context added above keeps the redaction (its message and stack are rebuilt from the original).
    expectClean(withContext(err, "copy: reading from the source"));
  });

  it("Basic: a plain-text body quoted as the reason of a 400 is redacted", async () => {
    const err = await failure({ challenge: "basic", status: 400, body: "text" }, { username: USER, password: PASSWORD });
    expect(err.code).toBe("REGISTRY");
    expect(err.message).toContain("you sent: Authorization:");
    expectClean(err);
  });

  it("Basic: credentials refused with a 401 keep a redacted response", async () => {
    const err = await failure({ challenge: "basic", status: 401 }, { username: USER, password: PASSWORD }, "ping");
    expect(err.code).toBe("UNAUTHORIZED");
    expect(err.response?.errors[0]?.message).toContain(REDACTED);
    expectClean(err);
  });

  it("a registry token sent as is is redacted", async () => {
    const err = await failure({ challenge: "self", status: 403 }, { registryToken: REGISTRY_TOKEN });
    expect(err.response?.errors[0]?.message).toContain(`Authorization: ${REDACTED}`);
    expectClean(err, REGISTRY_TOKEN);
  });

  it("a token service quoting the Basic header of the token request is redacted", async () => {
    const err = await failure({ challenge: "self", status: 400 }, { username: USER, password: PASSWORD });
    expect(err.message).toContain("a token for");
    expectClean(err);
  });

  it("a token service quoting the refresh-token form is redacted, as a 403 and as a 400", async () => {
    for (const status of [403, 400]) {
      const err = await failure({ challenge: "self", status }, { identityToken: IDENTITY_TOKEN });
      expect(JSON.stringify(err.response)).toContain("grant_type=refresh_token");
      expectClean(err, IDENTITY_TOKEN);
      await peer?.stop();
    }
  });

  describe("with bearer tokens from a real token service", () => {
    let tokens: TokenServer;

    beforeAll(async () => {
      tokens = await startTokenServer({ users: { [USER]: PASSWORD } });
    });
    afterAll(async () => {
      await tokens?.stop();
    });

    it("the JWT the client got and sent is redacted", async () => {
      const err = await failure({ challenge: { realm: tokens.realm, service: tokens.service }, status: 403 }, { username: USER, password: PASSWORD });
      expect(err.message).toContain(`Authorization: ${REDACTED}`);
      expectClean(err);
    });
  });
});
