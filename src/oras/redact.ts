/**
 * Secrets blanked out of text before it becomes a message, a log line or data
 * kept on an error. Two nets: a Redactor holds the exact secrets one client
 * sent or holds (passwords, the Basic value, bearer, refresh and identity
 * tokens), registered by the auth layer as it uses them; and patterns catch
 * credentials in any text (`Basic …`, `Bearer …`, `user:pass@` in URLs, token
 * query parameters, echoed Authorization headers and secret JSON fields).
 * What a peer says back is the reason: registries have been seen quoting the
 * request's Authorization header in their error bodies.
 *
 * A Redactor belongs to one client, never to the process: a library used by
 * two callers must not share (or leak between them) what each one knows.
 */

export const REDACTED = "[redacted]";

/** Shorter secrets are left to the patterns: blanking every "ab" in a message would garble it and hide nothing. */
const MIN_SECRET_CHARS = 4;
/** Far more than the tokens one long copy fetches; the oldest are forgotten first. */
const MAX_SECRETS = 1024;
/** Deeper structures in a registry's `detail` are not walked: replaced whole. */
const MAX_VALUE_DEPTH = 16;

/** The spellings a secret travels in: as is, percent-encoded (URLs, forms), form-encoded, escaped inside JSON text. */
function encodings(secret: string): string[] {
  return [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), JSON.stringify(secret).slice(1, -1)];
}

export class Redactor {
  private readonly secrets = new Set<string>();
  /** Longest first, so "user:password" goes before "password" leaves "user:" behind. */
  private ordered: string[] | undefined;

  /** Remember a secret (in every spelling it travels in); empty and very short ones are ignored. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SECRET_CHARS) return;
    for (const form of encodings(secret)) {
      this.secrets.delete(form); // re-adding moves it to the young end
      this.secrets.add(form);
    }
    while (this.secrets.size > MAX_SECRETS) this.secrets.delete(this.secrets.values().next().value!);
    this.ordered = undefined;
  }

  /** text with every known secret and every credential pattern replaced by REDACTED. */
  redact(text: string): string {
    this.ordered ??= [...this.secrets].sort((a, b) => b.length - a.length);
    let out = text;
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return redactPatterns(out);
  }

  /** A JSON value (a registry's `detail`) with every string in it, keys too, redacted. */
  redactValue(value: unknown, depth = 0): unknown {
    if (typeof value === "string") return this.redact(value);
    if (typeof value !== "object" || value === null) return value;
    if (depth >= MAX_VALUE_DEPTH) return REDACTED;
    if (Array.isArray(value)) return value.map((v: unknown) => this.redactValue(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.redactValue(v, depth + 1)]));
  }
}

/** A token68 (RFC 7235) of 8+ characters, not followed by more token characters or a quote (so `realm="…"` is not one). */
const SCHEME_VALUE = /\b(Basic|Bearer)(\s+)([A-Za-z0-9._~+/-]{8,}=*)(?![A-Za-z0-9._~+/="-])/gi;
/** A plain word after "bearer"/"basic" is prose ("Bearer authentication"), not a credential. */
const WORD = /^[A-Z]?[a-z]+$/;
/** user-info in a URL: `scheme://user:password@` keeps the user, `scheme://token@` keeps nothing. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]+)@/gi;
/** Query or form parameters whose names say they carry a secret (access_token, X-Amz-Signature, sig, _state, …). */
const SECRET_PARAM =
  /(^|[?&;\s"'])([\w.-]*?(?:token|secret|passw(?:or)?d|signature|sig|credential|auth|state|session|(?:api|access)[_-]?key)[\w.-]*=)[^&#\s"'<>]*/gi;
/** `"password": "…"`, `"Authorization": "…"`, `"refresh_token": "…"` in JSON text. */
const SECRET_JSON_FIELD = /("[\w.-]*?(?:token|secret|passw(?:or)?d|auth|credential|cookie)[\w.-]*"\s*:\s*")(?:[^"\\]|\\.)*"/gi;
/** An echoed header line: `Authorization: …`, `Proxy-Authorization=…`, `Cookie: …` (to the end of the line or quote). */
const SECRET_HEADER = /\b((?:proxy-)?authorization|cookie)(\s*[:=]\s*["']?)[^\r\n"']+/gi;

/** text with every credential pattern replaced by REDACTED (no knowledge of what was sent: the second net). */
export function redactPatterns(text: string): string {
  return text
    .replace(SECRET_JSON_FIELD, `$1${REDACTED}"`)
    .replace(SECRET_HEADER, `$1$2${REDACTED}`)
    .replace(SCHEME_VALUE, (match, scheme: string, space: string, value: string) => (WORD.test(value) ? match : `${scheme}${space}${REDACTED}`))
    .replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(":");
      return colon < 0 ? `${scheme}${REDACTED}@` : `${scheme}${userinfo.slice(0, colon)}:${REDACTED}@`;
    })
    .replace(SECRET_PARAM, `$1$2${REDACTED}`);
}

/** A URL fit for messages and logs: scheme, host and path only (no user-info; no query, where upload and storage URLs carry secrets). */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * A JSON.parse error's message without the excerpt of the input V8 quotes in it
 * (`Unexpected token 'x', ..."auth":"dXNlc"... is not valid JSON`): a file of
 * secrets must not be quoted back.
 */
export function jsonErrorWithoutInput(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cut = message.search(/, (?:\.\.\.)?"/);
  return cut < 0 ? message : message.slice(0, cut);
}
