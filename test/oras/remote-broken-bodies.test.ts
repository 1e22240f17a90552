/**
 * Response bodies that break or lie, found by the fault soak (test/soak): each must end in one of our typed
 * errors, never a bare socket error, and never in an 'error' event nobody listens to (which kills the process).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NetworkError, OciError, SizeMismatchError } from "../../src/oras/errors.js";
import { RemoteRegistry } from "../../src/oras/remote/registry.js";
import { fetchAll } from "../../src/oras/verify.js";
import { runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage } from "../support/images.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

let registry: RunningRegistry;
let proxy: FaultProxy;
let image: Awaited<ReturnType<typeof buildImage>>;
let work: string;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => void uncaught.push(err);

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-broken-bodies-"));
  registry = await startRegistry();
  proxy = await startFaultProxy({ upstream: registry });
  image = await buildImage({ url: registry.url, repo: "broken/app" }, { tag: "v1", layerSizes: [200_000] });
  process.on("uncaughtException", onUncaught);
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  proxy.clearRules();
});

const repo = () => new RemoteRegistry(proxy.host).repository("broken/app");
const layer = () => image.layers[0]!;

/** What `promise` rejected with: ours (code and message) or anything else (its name), plus what escaped meanwhile. */
async function failure(promise: Promise<unknown>): Promise<{ typed: boolean; code?: string; error: unknown }> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  // Give an unhandled 'error' event its tick to surface.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { typed: error instanceof OciError, ...(error instanceof OciError ? { code: error.code } : {}), error };
}

describe("broken response bodies end in typed errors", () => {
  it("a manifest body cut short: NetworkError naming the registry", async () => {
    proxy.addRule({ method: "GET", path: /\/manifests\//, resetAfterBytes: 10, times: Infinity });
    const got = await failure(repo().fetchManifest(image.digest));
    expect(got).toMatchObject({ typed: true, code: "NETWORK" });
    expect((got.error as NetworkError).message).toContain(proxy.host);
  });

  it("a manifest body longer in Content-Length than sent: NetworkError", async () => {
    proxy.addRule({ method: "GET", path: /\/manifests\//, contentLength: image.manifest.size + 50, times: Infinity });
    expect(await failure(repo().fetchManifest(image.digest))).toMatchObject({ typed: true, code: "NETWORK" });
  });

  it("a blob read unverified (as fetchAll and registry-to-registry copies read) cut short: NetworkError", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, resetAfterBytes: 1000, times: Infinity });
    expect(await failure(fetchAll(repo(), layer()))).toMatchObject({ typed: true, code: "NETWORK" });
  });

  it("a blob whose Content-Length is not the descriptor's: SizeMismatchError, and nothing escapes uncaught", async () => {
    // A short body arrives whole before it is refused: destroying an unread, finished undici body then
    // emits an 'error' that nobody listens to (a body still in flight gets undici's own listener).
    proxy.addRule({ method: "GET", path: /\/blobs\//, contentLength: 10, times: Infinity });
    const got = await failure(fetchAll(repo(), layer()));
    expect(got.error).toBeInstanceOf(SizeMismatchError);
    expect(uncaught).toEqual([]);
  });

  it("kit copy of a blob whose Content-Length lies exits 4 with an error document, not a crash", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, contentLength: 10, times: Infinity });
    const run = await runKit(["copy", `${proxy.host}/broken/app:v1`, `oci:${path.join(work, "layout")}:v1`, "--json"]);
    expect(run.stderr).not.toContain("Unhandled 'error' event");
    expect(run.code).toBe(4);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: "SIZE_MISMATCH", exit: 4 });
  });
});
