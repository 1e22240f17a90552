/**
 * The direct transport (node:http) on the corners the layers above rely on, against a scripted
 * loopback peer: distribution 2.8 never repeats a response header, and a test cannot make it hold
 * a body open while the client aborts. Stalls, resets and early closes are tested against the real
 * registry behind the fault proxy (remote-timeouts, remote-broken-bodies, cli/timeouts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError } from "../../src/oras/errors.js";
import { closeSharedAgents, connectionSend, type HttpRequest } from "../../src/oras/remote/http.js";

interface Seen {
  method: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let origin: string;
const seen: Seen[] = [];
/** Per path: what the peer does with a request once its body has arrived. */
const routes: Record<string, (res: ServerResponse) => void> = {
  "/echo": (res) => res.end("ok"),
  "/two-challenges": (res) => {
    res.setHeader("www-authenticate", ['Basic realm="r"', 'Bearer realm="https://auth.example/token",service="r"']);
    res.statusCode = 401;
    res.end();
  },
  // Headers and a first part of the body, then nothing: the client decides when to stop.
  "/held": (res) => {
    res.writeHead(200, { "content-length": "1000" });
    res.write("x".repeat(100));
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", headers: req.headers, body: Buffer.concat(parts).toString() });
      (routes[req.url ?? ""] ?? ((r: ServerResponse) => ((r.statusCode = 404), r.end())))(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await closeSharedAgents();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const send = connectionSend();
const req = (path: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({ method: "GET", url: new URL(path, origin), headers: {}, ...extra });

async function text(body: Readable): Promise<string> {
  return Buffer.concat((await body.toArray()) as Buffer[]).toString();
}

describe("the node:http transport", () => {
  it("gives a repeated response header as an array of its values, never joined", async () => {
    const res = await send(req("/two-challenges"));
    await text(res.body);
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toEqual(['Basic realm="r"', 'Bearer realm="https://auth.example/token",service="r"']);
  });

  it("sends bytes with their length, a bodiless POST with length 0, and a stream whole", async () => {
    seen.length = 0;
    for (const r of [
      req("/echo", { method: "PUT", body: Buffer.from("four") }),
      req("/echo", { method: "POST" }),
      req("/echo", { method: "PATCH", body: () => Readable.from([Buffer.from("one "), Buffer.from("two")]) }),
    ]) {
      const res = await send(r);
      expect(await text(res.body)).toBe("ok");
    }
    expect(seen.map((s) => [s.method, s.headers["content-length"], s.body])).toEqual([
      ["PUT", "4", "four"],
      ["POST", "0", ""],
      ["PATCH", undefined, "one two"],
    ]);
    expect(seen[2]!.headers["transfer-encoding"]).toBe("chunked");
  });

  it("fails a body being read with the abort's reason when the caller aborts mid-body", async () => {
    const controller = new AbortController();
    const res = await send(req("/held", { signal: controller.signal }));
    const reading = text(res.body).catch((e: unknown) => e);
    const reason = new NetworkError("gave up: the operation deadline passed");
    controller.abort(reason);
    expect(await reading).toBe(reason);
  });

  it("fails a request aborted before its answer with the abort's reason", async () => {
    const controller = new AbortController();
    const reason = new NetworkError("gave up before the answer");
    controller.abort(reason);
    await expect(send(req("/echo", { signal: controller.signal }))).rejects.toBe(reason);
  });

  it("names the host when nothing listens there", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await send({ method: "GET", url: new URL(`http://127.0.0.1:${port}/v2/`), headers: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toBe(`cannot reach 127.0.0.1:${port}: connection refused`);
  });
});
