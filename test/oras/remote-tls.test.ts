/**
 * Scheme choice and TLS: HTTPS unless the registry is loopback or plain HTTP is asked for; `insecure`
 * skips certificate verification; TLS failures name the registry and say what to do.
 */
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError } from "../../src/oras/errors.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { registryScheme } from "../../src/oras/remote/registry-client.js";
import { selfSignedCertificate } from "../support/tls.js";

describe("registryScheme", () => {
  it("is HTTPS by default, HTTP for loopback, and follows an explicit choice", () => {
    expect(registryScheme("registry.example.com")).toBe("https:");
    expect(registryScheme("docker.io")).toBe("https:");
    for (const loopback of ["localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"]) expect(registryScheme(loopback)).toBe("http:");
    expect(registryScheme("registry.example.com", true)).toBe("http:");
    expect(registryScheme("localhost:5000", false)).toBe("https:");
  });
});

let dir: string;
let tlsServer: https.Server;
let plainServer: http.Server;
let tlsHost: string;
let plainHost: string;

const answer = (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { "docker-distribution-api-version": "registry/2.0", "content-type": "application/json", "content-length": "2" });
  res.end("{}");
};

async function listen(server: http.Server | https.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kit-tls-"));
  tlsServer = https.createServer(await selfSignedCertificate(dir, "127.0.0.1"), answer);
  plainServer = http.createServer(answer);
  [tlsHost, plainHost] = await Promise.all([listen(tlsServer), listen(plainServer)]);
});

afterAll(async () => {
  for (const s of [tlsServer, plainServer]) {
    s?.closeAllConnections();
    await new Promise((resolve) => s?.close(resolve));
  }
  await rm(dir, { recursive: true, force: true });
});

describe("TLS", () => {
  it("refuses an untrusted certificate with a hint about --insecure", async () => {
    const err = await new RemoteRegistry(tlsHost, { plainHttp: false, retry: { maxAttempts: 1 } }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot reach ${tlsHost}: TLS certificate not trusted`));
    expect((err as NetworkError).hint).toContain("--insecure");
  });

  it("accepts it with insecure: true", async () => {
    await new RemoteRegistry(tlsHost, { plainHttp: false, insecure: true }).ping();
  });

  it("takes plain HTTP and insecure per registry host, a global true still winning", async () => {
    const registries = new Map([[tlsHost, { plainHttp: false, insecure: true }]]);
    await new RemoteRegistry(tlsHost, { registries }).ping();
    // Another host is not affected: loopback, so plain HTTP, and a verified certificate were it HTTPS.
    await new RemoteRegistry(plainHost, { registries }).ping();
    const refused = await new RemoteRegistry(tlsHost, { registries: new Map([[tlsHost, { plainHttp: false }]]), retry: { maxAttempts: 1 } }).ping().catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/TLS certificate not trusted/);
    await new RemoteRegistry(tlsHost, { plainHttp: false, insecure: true, registries: new Map([[tlsHost, { insecure: false }]]) }).ping();
  });

  it("explains a TLS handshake with a plain-HTTP server", async () => {
    const err = await new RemoteRegistry(plainHost, { plainHttp: false, retry: { maxAttempts: 1 } }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toContain(`cannot reach ${plainHost}`);
    expect((err as NetworkError).hint).toContain("--plain-http");
  });
});
