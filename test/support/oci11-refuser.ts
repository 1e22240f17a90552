/**
 * A registry that refuses OCI 1.1 manifest fields, played by a small proxy in front of a real one (distribution 2.8
 * accepts those fields: it ignores them): a manifest PUT whose body matches `refuse` — by default any `artifactType`
 * or `subject` member, in a manifest or in an index's descriptors — gets 400 MANIFEST_INVALID, as older ECR, Harbor
 * and GitLab answer; everything else is forwarded. `refused` counts the refusals.
 */
import http from "node:http";
import type { RunningRegistry } from "./registry.js";

export interface Oci11Refuser {
  host: string;
  readonly refused: number;
  stop(): Promise<void>;
}

export async function startOci11Refuser(upstream: RunningRegistry, opts: { refuse?: RegExp } = {}): Promise<Oci11Refuser> {
  const refuse = opts.refuse ?? /"(artifactType|subject)"/;
  const state = { refused: 0 };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === "PUT" && /\/manifests\//.test(req.url ?? "") && refuse.test(body.toString("utf8"))) {
      state.refused++;
      const err = Buffer.from(JSON.stringify({ errors: [{ code: "MANIFEST_INVALID", message: "manifest invalid" }] }));
      res.writeHead(400, { "content-type": "application/json", "content-length": String(err.length) });
      return void res.end(err);
    }
    const forward = http.request(`${upstream.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on("error", () => res.destroy());
    forward.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    get refused() {
      return state.refused;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
