/**
 * Registry answers that are not what we asked for, turned into the error
 * hierarchy. The registry's own `{"errors":[{code,message,detail}]}` body is
 * read (bounded), kept on the error as its `response` and quoted in the
 * message; nothing we sent (credentials, tokens, query strings) is quoted or kept:
 * what the registry says is passed through the client's Redactor first, because
 * registries echo requests (an Authorization header quoted in `message`).
 */
import {
  DeniedError,
  NotFoundError,
  OciError,
  RegistryError,
  UnauthorizedError,
  UnsupportedError,
  type RegistryErrorEntry,
  type RegistryResponse,
} from "../errors.js";
import { displayUrl, type Redactor } from "../redact.js";
import { MAX_ERROR_BODY_BYTES } from "../limits.js";
import { header, type HttpResponse } from "./http.js";

const MAX_QUOTED_CHARS = 300;

/** The command named in "log in" hints unless the client options name another (the CLI names its own). */
export const DEFAULT_LOGIN_COMMAND = "docker login";

/** What failed, for messages: `{registry: "r.example", repository: "team/app", what: "manifest team/app:v1", action: "push"}`. */
export interface ErrorContext {
  registry: string;
  repository?: string;
  /** The thing asked for: "manifest team/app:v1", "blob sha256:…", "tag list of team/app". */
  what: string;
  /** What we tried to do, for messages: "fetch", "push", "delete", ... */
  action: string;
  /** Named in the hint of an authentication failure: `${loginCommand} ${registry}`. */
  loginCommand: string;
  /** The client's secrets, blanked out of whatever the registry says before it is quoted or kept. */
  redactor: Redactor;
}

/** Read at most MAX_ERROR_BODY_BYTES of an error body; the rest is discarded. */
async function readErrorBody(res: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      const room = MAX_ERROR_BODY_BYTES - total;
      chunks.push(buf.length > room ? buf.subarray(0, room) : buf);
      total += Math.min(buf.length, room);
      if (total >= MAX_ERROR_BODY_BYTES) break; // leaving the loop destroys the body
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The distribution-spec error list in a body, or [] when it has none; every string in it redacted. */
function parseRegistryErrors(text: string, redactor: Redactor): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(list)) return [];
  return list.flatMap((e: unknown) => {
    if (typeof e !== "object" || e === null) return [];
    const { code, message, detail } = e as { code?: unknown; message?: unknown; detail?: unknown };
    const entry: RegistryErrorEntry = {
      code: typeof code === "string" ? redactor.redact(code) : "UNKNOWN",
      message: typeof message === "string" ? redactor.redact(message) : "",
    };
    if (detail !== undefined && detail !== null) entry.detail = redactor.redactValue(detail);
    return [entry];
  });
}

/** The RegistryResponse for an answer whose body has been read (its errors redacted) or has nothing to tell. */
export function registryResponse(res: HttpResponse, errors: readonly RegistryErrorEntry[] = []): RegistryResponse {
  return { method: res.method, url: displayUrl(res.url), status: res.status, errors };
}

/** Read (bounded) what the registry said in an answer, redacted; consumes the body. */
export async function readRegistryResponse(res: HttpResponse, redactor: Redactor): Promise<RegistryResponse> {
  return registryResponse(res, parseRegistryErrors(await readErrorBody(res), redactor));
}

/** True when the registry's answer behind err carried one of these error codes. */
export function hasRegistryCode(err: OciError, ...codes: string[]): boolean {
  return err.response?.errors.some((e) => codes.includes(e.code)) ?? false;
}

/** Registry-supplied text made safe for one line of a message. */
function quote(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return clean.length > MAX_QUOTED_CHARS ? `${clean.slice(0, MAX_QUOTED_CHARS)}…` : clean;
}

export function describeRegistryErrors(errors: readonly RegistryErrorEntry[]): string {
  return errors
    .slice(0, 3)
    .map((e) => quote(e.message ? `${e.code}: ${e.message}` : e.code))
    .join("; ");
}

/** The hint of an authentication failure: a command that runs as printed (with a CLI that asks for what it lacks). */
export function loginHint(registry: string, loginCommand: string): string {
  return `run \`${loginCommand} ${shellWord(registry)}\` with credentials that can access it`;
}

/** `text` as one word for a POSIX shell: an IPv6 host's brackets are glob characters, so it is quoted. */
function shellWord(text: string): string {
  return /^[\w.:@%+=/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The error for an unexpected response, carrying what the registry said; consumes the body. */
export async function errorFromResponse(res: HttpResponse, ctx: ErrorContext): Promise<OciError> {
  const text = await readErrorBody(res);
  const errors = parseRegistryErrors(text, ctx.redactor);
  const response = registryResponse(res, errors);
  const codes = new Set(errors.map((e) => e.code));
  const detail = describeRegistryErrors(errors);
  const where = ctx.repository !== undefined ? `${ctx.registry}/${ctx.repository}` : ctx.registry;
  switch (res.status) {
    case 401:
      return new UnauthorizedError(`authentication required for ${ctx.registry}`, { hint: loginHint(ctx.registry, ctx.loginCommand), response });
    case 403:
      return new DeniedError(`${ctx.registry} denied ${ctx.action} access to ${ctx.what}${detail ? ` (${detail})` : ""}`, {
        hint: `check that your account on ${ctx.registry} may ${ctx.action} ${where}`,
        response,
      });
    case 404:
      if (codes.has("NAME_UNKNOWN") && ctx.repository !== undefined) {
        return new NotFoundError(`repository ${where} not found`, { response });
      }
      return new NotFoundError(`${ctx.what} not found in ${where}`, { response });
    case 405:
      return new UnsupportedError(`${ctx.registry} does not allow ${ctx.action} of ${ctx.what}${detail ? ` (${detail})` : ""}`, {
        hint: "the registry has this operation disabled or does not implement it",
        response,
      });
  }
  if (codes.has("UNSUPPORTED")) {
    return new UnsupportedError(`${ctx.registry} does not support ${ctx.action} of ${ctx.what} (${detail})`, { response });
  }
  const reason = detail !== "" ? detail : res.status >= 500 ? "server error" : quote(ctx.redactor.redact(text).slice(0, 120)) || "unexpected status";
  return new RegistryError(`${ctx.registry} answered ${res.status} to ${ctx.action} ${ctx.what}: ${reason}`, res.status, { response });
}

/** A header that must be present; a RegistryError names what the registry failed to send. */
export function requiredHeader(res: HttpResponse, name: string, ctx: ErrorContext): string {
  const value = header(res.headers, name);
  if (value === undefined || value === "") {
    throw new RegistryError(`${ctx.registry} sent no ${name} header in its answer to ${ctx.action} ${ctx.what}`, res.status, {
      response: registryResponse(res),
    });
  }
  return value;
}
