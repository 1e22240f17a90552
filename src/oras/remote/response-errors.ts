/**
 * Registry answers that are not what we asked for, turned into the error
 * hierarchy. The registry's own `{"errors":[{code,message}]}` body is read
 * (bounded) and quoted; nothing we sent (credentials, tokens) is ever quoted.
 */
import {
  DeniedError,
  NotFoundError,
  OciError,
  RegistryError,
  UnauthorizedError,
  UnsupportedError,
} from "../errors.js";
import { header, type HttpResponse } from "./http.js";

const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_QUOTED_CHARS = 300;

export interface RegistryErrorEntry {
  code: string;
  message: string;
}

/** What failed, for messages: `{registry: "r.example", repository: "team/app", what: "manifest team/app:v1", action: "push"}`. */
export interface ErrorContext {
  registry: string;
  repository?: string;
  /** The thing asked for: "manifest team/app:v1", "blob sha256:…", "tag list of team/app". */
  what: string;
  /** What we tried to do, for messages: "fetch", "push", "delete", ... */
  action: string;
}

/** Read at most MAX_ERROR_BODY_BYTES of an error body; the rest is discarded. */
export async function readErrorBody(res: HttpResponse): Promise<string> {
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

/** The distribution-spec error list in a body, or [] when it has none. */
export function parseRegistryErrors(text: string): RegistryErrorEntry[] {
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
    const { code, message } = e as { code?: unknown; message?: unknown };
    return [{ code: typeof code === "string" ? code : "UNKNOWN", message: typeof message === "string" ? message : "" }];
  });
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

let loginCommand = "docker login";

/** The command named in "log in" hints; the embedding tool sets its own. */
export function setLoginCommand(command: string): void {
  loginCommand = command;
}

export function loginHint(registry: string): string {
  return `run \`${loginCommand} ${registry}\` with credentials that can access it`;
}

/** The error for an unexpected response; consumes the body. */
export async function errorFromResponse(res: HttpResponse, ctx: ErrorContext): Promise<OciError> {
  const text = await readErrorBody(res);
  const errors = parseRegistryErrors(text);
  const codes = new Set(errors.map((e) => e.code));
  const detail = describeRegistryErrors(errors);
  const where = ctx.repository !== undefined ? `${ctx.registry}/${ctx.repository}` : ctx.registry;
  switch (res.status) {
    case 401:
      return new UnauthorizedError(`authentication required for ${ctx.registry}`, { hint: loginHint(ctx.registry) });
    case 403:
      return new DeniedError(`${ctx.registry} denied ${ctx.action} access to ${ctx.what}${detail ? ` (${detail})` : ""}`, {
        hint: `check that your account on ${ctx.registry} may ${ctx.action} ${where}`,
      });
    case 404:
      if (codes.has("NAME_UNKNOWN") && ctx.repository !== undefined) {
        return new NotFoundError(`repository ${where} not found`);
      }
      return new NotFoundError(`${ctx.what} not found in ${where}`);
    case 405:
      return new UnsupportedError(`${ctx.registry} does not allow ${ctx.action} of ${ctx.what}${detail ? ` (${detail})` : ""}`, {
        hint: "the registry has this operation disabled or does not implement it",
      });
  }
  if (codes.has("UNSUPPORTED")) {
    return new UnsupportedError(`${ctx.registry} does not support ${ctx.action} of ${ctx.what} (${detail})`);
  }
  const reason = detail !== "" ? detail : res.status >= 500 ? "server error" : quote(text.slice(0, 120)) || "unexpected status";
  return new RegistryError(`${ctx.registry} answered ${res.status} to ${ctx.action} ${ctx.what}: ${reason}`, res.status);
}

/** A header that must be present; a RegistryError names what the registry failed to send. */
export function requiredHeader(res: HttpResponse, name: string, ctx: ErrorContext): string {
  const value = header(res.headers, name);
  if (value === undefined || value === "") {
    throw new RegistryError(`${ctx.registry} sent no ${name} header in its answer to ${ctx.action} ${ctx.what}`, res.status);
  }
  return value;
}
