/**
 * A small Docker token-auth server (https://distribution.github.io/distribution/spec/auth/token/) for
 * a real `docker-registry` in token mode:
 *
 *   const tokens = await startTokenServer({ users: { alice: "pw" }, anonymousPull: /^public\// });
 *   const registry = await startRegistry({ auth: "token", tokenServer: tokens });
 *   afterAll(async () => { await registry?.stop(); await tokens?.stop(); });
 *
 * GET /token   ?service=&scope=...&offline_token=true, optional Basic credentials (the classic flow).
 * POST /token  OAuth2 form: grant_type=password | refresh_token (the flow clients use for identity tokens).
 *
 * Tokens are JWTs signed RS256 with a key and self-signed certificate made by `openssl` at start; the
 * certificate is the registry's rootcertbundle and travels in the JWT header as `x5c`, which is how
 * distribution 2.8 finds the verification key. Every request is recorded (never the secrets) so tests
 * can assert on the scopes a client asked for.
 */
import { execFile } from "node:child_process";
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TokenServerConfig } from "./registry.js";

export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface GrantRequest {
  /** The authenticated user, or undefined for an anonymous request. */
  subject: string | undefined;
  type: string;
  name: string;
  requested: string[];
}

export interface TokenServerOptions {
  /** Accepted credentials: user -> password. Default { testuser: "testpassword" }. */
  users?: Record<string, string>;
  /** The registry's `service` name; requests naming another service are refused with 400. */
  service?: string;
  issuer?: string;
  /** Repositories anonymous clients may pull. Default: none. */
  anonymousPull?: RegExp | ((repository: string) => boolean);
  /** Replace the default policy (users get what they ask for; anonymous gets pull where anonymousPull allows). */
  grant?: (request: GrantRequest) => string[];
  /** Token lifetime in seconds; default 300. */
  expiresIn?: number;
  /** Answer the OAuth2 POST flow; default true. false makes POST /token a 404, like registries without it. */
  oauth2?: boolean;
}

export interface TokenRequestRecord {
  method: string;
  path: string;
  service: string | undefined;
  /** Scopes as sent, one entry per scope ("repository:NAME:pull,push"). */
  scopes: string[];
  /** "password" or "refresh_token" for POST; undefined for GET. */
  grantType: string | undefined;
  hasAuthorization: boolean;
  /** Scheme of the Authorization header ("Basic", "Bearer"), never its value. */
  authScheme: string | undefined;
  /** The user name presented (not secret), if any. */
  username: string | undefined;
  clientId: string | undefined;
  /** offline_token=true (GET) or access_type=offline (POST). */
  offline: boolean;
  status: number;
  granted: TokenAccess[];
}

export interface TokenServer extends TokenServerConfig {
  /** "127.0.0.1:PORT" */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  users: Record<string, string>;
  requests: TokenRequestRecord[];
  /** Sign a token directly, bypassing HTTP (for fixtures that push before the client under test runs). */
  issueToken(opts: { subject?: string; access: TokenAccess[]; expiresIn?: number }): string;
  /** "Bearer <jwt>" for one repository. */
  bearer(repository: string, actions: string[], subject?: string): string;
  /** Forget every refresh token handed out, as a server would after a password change. */
  revokeRefreshTokens(): void;
  stop(): Promise<void>;
}

const MAX_FORM_BYTES = 64 * 1024;

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const users = { ...(opts.users ?? { testuser: "testpassword" }) };
  const service = opts.service ?? "kit-test-registry";
  const issuer = opts.issuer ?? "kit-test-token-issuer";
  const expiresIn = opts.expiresIn ?? 300;
  const oauth2 = opts.oauth2 ?? true;
  const dir = await mkdtemp(join(tmpdir(), "kit-token-server-"));
  try {
    const { key, certDerBase64, certPath } = await makeSigningKey(dir);
    const refreshTokens = new Map<string, string>();
    const requests: TokenRequestRecord[] = [];

    const anonymousAllowed = (name: string): boolean => {
      const rule = opts.anonymousPull;
      if (rule === undefined) return false;
      return typeof rule === "function" ? rule(name) : rule.test(name);
    };
    const policy =
      opts.grant ??
      ((req: GrantRequest): string[] => {
        if (req.subject !== undefined) return req.requested;
        return req.type === "repository" && req.requested.includes("pull") && anonymousAllowed(req.name) ? ["pull"] : [];
      });

    const issueToken = (o: { subject?: string; access: TokenAccess[]; expiresIn?: number }): string => {
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "RS256", x5c: [certDerBase64] };
      const claims = {
        iss: issuer,
        sub: o.subject ?? "",
        aud: service,
        exp: now + (o.expiresIn ?? expiresIn),
        nbf: now - 1,
        iat: now,
        jti: randomBytes(12).toString("hex"),
        access: o.access,
      };
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      return `${signingInput}.${b64url(sign("sha256", Buffer.from(signingInput), key))}`;
    };

    const server = http.createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ code: "UNKNOWN", message: String(error) }] });
        else res.destroy();
      });
    });

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? "/", "http://token.invalid");
      const authorization = req.headers.authorization;
      const record: TokenRequestRecord = {
        method: req.method ?? "",
        path: url.pathname,
        service: undefined,
        scopes: [],
        grantType: undefined,
        hasAuthorization: authorization !== undefined,
        authScheme: authorization?.split(" ", 1)[0],
        username: undefined,
        clientId: undefined,
        offline: false,
        status: 0,
        granted: [],
      };
      requests.push(record);
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        record.status = status;
        sendJson(res, status, body, headers);
      };

      if (url.pathname !== "/token") return reply(404, { errors: [{ code: "NOT_FOUND", message: "no such endpoint" }] });

      let subject: string | undefined;
      let scopeStrings: string[];
      let offline: boolean;
      let refreshToken: string | undefined;

      if (req.method === "GET") {
        record.service = url.searchParams.get("service") ?? undefined;
        record.clientId = url.searchParams.get("client_id") ?? undefined;
        scopeStrings = url.searchParams.getAll("scope").flatMap(splitScopes);
        offline = url.searchParams.get("offline_token") === "true";
        if (authorization !== undefined) {
          const creds = parseBasic(authorization);
          record.username = creds?.user;
          if (creds === undefined || users[creds.user] !== creds.password) {
            return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] }, {
              "WWW-Authenticate": `Basic realm="${issuer}"`,
            });
          }
          subject = creds.user;
          if (offline) refreshToken = newRefreshToken(refreshTokens, subject);
        }
      } else if (req.method === "POST") {
        if (!oauth2) return reply(404, { errors: [{ code: "NOT_FOUND", message: "OAuth2 POST not supported" }] });
        const form = await readForm(req);
        if (form === undefined) return reply(400, { error: "invalid_request", error_description: "form body too large" });
        record.grantType = form.get("grant_type") ?? undefined;
        record.service = form.get("service") ?? undefined;
        record.clientId = form.get("client_id") ?? undefined;
        record.username = form.get("username") ?? undefined;
        scopeStrings = splitScopes(form.get("scope") ?? "");
        offline = form.get("access_type") === "offline";
        if (record.clientId === undefined || record.clientId === "") {
          return reply(400, { error: "invalid_request", error_description: "client_id is required" });
        }
        if (record.grantType === "password") {
          const user = form.get("username") ?? "";
          if (users[user] === undefined || users[user] !== form.get("password")) {
            return reply(401, { error: "invalid_grant", error_description: "invalid username or password" });
          }
          subject = user;
          if (offline) refreshToken = newRefreshToken(refreshTokens, subject);
        } else if (record.grantType === "refresh_token") {
          const presented = form.get("refresh_token") ?? "";
          subject = refreshTokens.get(presented);
          if (subject === undefined) {
            return reply(401, { error: "invalid_grant", error_description: "unknown or revoked refresh token" });
          }
          record.username = subject;
          if (offline) refreshToken = presented;
        } else {
          return reply(400, { error: "unsupported_grant_type", error_description: "use password or refresh_token" });
        }
      } else {
        return reply(405, { errors: [{ code: "UNSUPPORTED", message: "use GET or POST" }] });
      }

      record.scopes = scopeStrings;
      record.offline = offline;
      if (record.service !== service) {
        return reply(400, { errors: [{ code: "INVALID_SERVICE", message: `unknown service; expected "${service}"` }] });
      }
      const access: TokenAccess[] = [];
      for (const scope of scopeStrings) {
        const parsed = parseScope(scope);
        if (parsed === undefined) {
          return reply(400, { errors: [{ code: "INVALID_SCOPE", message: `malformed scope "${scope}"` }] });
        }
        access.push({ ...parsed, actions: policy({ subject, ...parsed, requested: parsed.actions }) });
      }
      record.granted = access;
      const token = issueToken({ subject, access });
      const body: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      };
      if (refreshToken !== undefined) body.refresh_token = refreshToken;
      if (req.method === "POST") body.scope = scopeStrings.join(" ");
      reply(200, body);
    };

    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("token server has no port");
    const host = `127.0.0.1:${address.port}`;
    let stopping: Promise<void> | undefined;

    return {
      host,
      url: `http://${host}`,
      realm: `http://${host}/token`,
      service,
      issuer,
      rootCertPath: certPath,
      users,
      requests,
      issueToken,
      bearer: (repository, actions, subject = Object.keys(users)[0]) =>
        `Bearer ${issueToken({ subject, access: [{ type: "repository", name: repository, actions }] })}`,
      revokeRefreshTokens: () => refreshTokens.clear(),
      stop() {
        stopping ??= (async () => {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function makeSigningKey(dir: string): Promise<{ key: KeyObject; certDerBase64: string; certPath: string }> {
  const keyPath = join(dir, "signing-key.pem");
  const certPath = join(dir, "signing-cert.pem");
  await new Promise<void>((resolve, reject) => {
    execFile(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=kit-test-token-issuer"],
      { timeout: 30_000 },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`openssl could not make the token signing key: ${stderr || error.message}`));
        else resolve();
      },
    );
  });
  const key = createPrivateKey(await readFile(keyPath));
  // x5c carries standard (not URL-safe) base64 DER, leaf first.
  const certDerBase64 = new X509Certificate(await readFile(certPath)).raw.toString("base64");
  return { key, certDerBase64, certPath };
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

function newRefreshToken(store: Map<string, string>, subject: string): string {
  const token = randomBytes(24).toString("hex");
  store.set(token, subject);
  return token;
}

/** Clients send scopes as repeated parameters, space-separated, or both. */
function splitScopes(value: string): string[] {
  return value.split(" ").filter((s) => s !== "");
}

/** "repository:library/alpine:pull,push" -> type, name, actions; the name may itself contain ':' only in theory, so split at both ends. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return undefined;
  const actions = scope.slice(last + 1).split(",").filter((a) => a !== "");
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function parseBasic(header: string): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": String(bytes.length), ...headers });
  res.end(bytes);
}
