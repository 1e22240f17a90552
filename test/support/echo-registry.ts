/**
 * A scripted registry stand-in that quotes the client's credentials back in its error bodies, as some
 * registries have been seen to do (the password reached kit's stderr that way):
 *
 *   const peer = await startEchoRegistry({ challenge: "basic", status: 403 });
 *   ... run a client against peer.host with credentials ...
 *   expect(peer.echoed).toBeGreaterThan(0);   // the secret really was sent back
 *   afterAll(async () => { await peer?.stop(); });
 *
 * A request without Authorization gets the 401 challenge: `Basic`, or `Bearer` naming a token realm
 * (a real token server, or "self": this peer's own /token, which echoes too). A request with one gets
 * `status`, and a body quoting it (and, at /token, the form body with its password or refresh token):
 * "json" is the distribution `{"errors":[{code, message, detail}]}` shape, "text" a plain-text body.
 * A 401 to an authenticated request carries the challenge again, as registries refusing credentials do.
 */
import http from "node:http";

export interface EchoRegistryOptions {
  challenge: "basic" | "self" | { realm: string; service: string };
  /** Answer to an authenticated request; default 403. */
  status?: number;
  /** Default "json". */
  body?: "json" | "text";
}

export interface EchoRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  url: string;
  /** How many answers quoted an Authorization header or a secret form field back. */
  readonly echoed: number;
  stop(): Promise<void>;
}

const SERVICE = "echo-registry";
const MAX_FORM_BYTES = 64 * 1024;

export async function startEchoRegistry(opts: EchoRegistryOptions): Promise<EchoRegistry> {
  const status = opts.status ?? 403;
  let echoed = 0;
  let url = "";
  const challenge = (): string => {
    if (opts.challenge === "basic") return 'Basic realm="echo"';
    const { realm, service } = opts.challenge === "self" ? { realm: `${url}/token`, service: SERVICE } : opts.challenge;
    return `Bearer realm="${realm}",service="${service}"`;
  };

  /** `bare`: the credentials alone (no "Basic " before them), which only knowing what was sent can catch. */
  const answer = (res: http.ServerResponse, code: number, quoted: string, bare: string[], headers: Record<string, string>): void => {
    const body =
      opts.body === "text"
        ? `request refused; you sent: ${quoted} (${bare.join(" ")})\n`
        : JSON.stringify({ errors: [{ code: "DENIED", message: `request refused; you sent: ${quoted}`, detail: { echo: quoted, credentials: bare } }] });
    const bytes = Buffer.from(body);
    res.writeHead(code, { "Content-Type": opts.body === "text" ? "text/plain" : "application/json", "Content-Length": String(bytes.length), ...headers });
    res.end(bytes);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      const authorization = req.headers.authorization;
      const form = Buffer.concat(chunks).toString("utf8");
      const isToken = (req.url ?? "").startsWith("/token");
      if (authorization === undefined && !(isToken && form !== "")) {
        answer(res, 401, "no credentials", [], { "WWW-Authenticate": challenge() });
        return;
      }
      echoed++;
      const quoted = [authorization !== undefined ? `Authorization: ${authorization}` : "", isToken ? `form ${form}` : ""].filter((s) => s !== "").join("; ");
      const bare = [authorization?.slice(authorization.indexOf(" ") + 1) ?? "", ...new URLSearchParams(isToken ? form : "").values()].filter((s) => s !== "");
      answer(res, status, quoted, bare, status === 401 ? { "WWW-Authenticate": challenge() } : {});
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("echo registry has no port");
  const host = `127.0.0.1:${address.port}`;
  url = `http://${host}`;
  let stopping: Promise<void> | undefined;
  return {
    host,
    url,
    get echoed() {
      return echoed;
    },
    stop() {
      stopping ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
