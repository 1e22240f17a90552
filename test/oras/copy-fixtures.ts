/**
 * Fixtures for the copy tests: content builders and wrappers that observe or
 * break a Target. Not a test file itself (vitest runs *.test.ts only).
 */
import { pipeline, Readable } from "node:stream";
import { MediaType, type Descriptor } from "../../src/oras/descriptor.js";
import { digestOf } from "../../src/oras/digest.js";
import { MemoryStore } from "../../src/oras/memory.js";
import type { FetchOptions, Mounter, ReferencePusher, Target } from "../../src/oras/target.js";
import { verifyingStream } from "../../src/oras/verify.js";

export interface Content {
  desc: Descriptor;
  bytes: Buffer;
}

export function content(mediaType: string, bytes: Buffer | string): Content {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { desc: { mediaType, digest: digestOf(buf), size: buf.length }, bytes: buf };
}

export function layer(text: string): Content {
  return content(MediaType.ImageLayerGzip, text);
}

export function config(text: string): Content {
  return content(MediaType.ImageConfig, JSON.stringify({ note: text }));
}

export function imageManifest(cfg: Content, layers: Content[], platform?: { architecture: string; os: string }): Content {
  const body = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: cfg.desc,
    layers: layers.map((l) => l.desc),
  };
  const c = content(MediaType.ImageManifest, JSON.stringify(body));
  if (platform) c.desc.platform = platform;
  return c;
}

export function imageIndex(manifests: Content[]): Content {
  return content(
    MediaType.ImageIndex,
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: manifests.map((m) => m.desc) }),
  );
}

/** A two-platform index whose manifests share one base layer. */
export function twoPlatformIndex() {
  const shared = layer("shared base layer");
  const amdOnly = layer("amd64 layer");
  const armOnly = layer("arm64 layer");
  const amdConfig = config("amd64");
  const armConfig = config("arm64");
  const amd = imageManifest(amdConfig, [shared, amdOnly], { architecture: "amd64", os: "linux" });
  const arm = imageManifest(armConfig, [shared, armOnly], { architecture: "arm64", os: "linux" });
  const index = imageIndex([amd, arm]);
  const all = [shared, amdOnly, armOnly, amdConfig, armConfig, amd, arm, index];
  return { shared, amdOnly, armOnly, amdConfig, armConfig, amd, arm, index, all };
}

export { readAll } from "../support/content.js";

/** Observes a Target: which pushes happened and how many ran at once at most. */
export class Recorder {
  active = 0;
  maxActive = 0;
  pushed: string[] = [];
  mounted: string[] = [];
  fetched: string[] = [];
  tagged: Array<[string, string]> = [];
  fetchOptions: Array<FetchOptions | undefined> = [];
  /** Bytes a mount can "link" (what the other repository holds). */
  mountable = new Map<string, Buffer>();
}


export interface ObserveHooks {
  /** Runs inside push, while it counts as in flight; may wait or throw. */
  beforePush?: (desc: Descriptor, signal?: AbortSignal) => Promise<void>;
  /** What mount() answers; without it the wrapper is not a Mounter. */
  mountResult?: boolean;
  /** Offer pushReference (tag on push) like a registry does. */
  pushReference?: boolean;
}

/**
 * Wrap a MemoryStore so pushes are counted while in flight. `beforePush` lets
 * a test keep pushes open until enough have started, so the concurrency bound
 * is exercised by counting, not by timing.
 */
export function observed(target: MemoryStore, rec: Recorder, hooks: ObserveHooks = {}): Target & Partial<Mounter & ReferencePusher> {
  const push = async (desc: Descriptor, body: Readable | Uint8Array, opts?: { signal?: AbortSignal }): Promise<void> => {
    rec.active++;
    rec.maxActive = Math.max(rec.maxActive, rec.active);
    try {
      await hooks.beforePush?.(desc, opts?.signal);
      await target.push(desc, body, opts);
      rec.pushed.push(desc.digest);
    } finally {
      rec.active--;
    }
  };
  const wrapped: Target & Partial<Mounter & ReferencePusher> = {
    name: target.name,
    exists: (desc) => target.exists(desc),
    fetch: (desc: Descriptor, opts?: FetchOptions) => {
      rec.fetched.push(desc.digest);
      rec.fetchOptions.push(opts);
      return target.fetch(desc, opts);
    },
    resolve: (ref) => target.resolve(ref),
    tag: async (desc, tag) => {
      rec.tagged.push([desc.digest, tag]);
      await target.tag(desc, tag);
    },
    push,
  };
  const mountResult = hooks.mountResult;
  if (mountResult !== undefined) {
    wrapped.mount = async (desc, from) => {
      rec.mounted.push(`${from}@${desc.digest}`);
      if (mountResult) {
        // Stand-in for the registry linking the blob from the other repository.
        await target.push(desc, rec.mountable.get(desc.digest) ?? Buffer.alloc(0));
      }
      return mountResult;
    };
  }
  if (hooks.pushReference) {
    wrapped.pushReference = async (desc, body, ref, opts) => {
      await push(desc, body, opts);
      rec.tagged.push([desc.digest, ref]);
      await target.tag(desc, ref);
    };
  }
  return wrapped;
}

/** Resolves once `count` calls to arrive() have been made. */
export function barrier(count: number): { arrive: () => Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    arrive: () => {
      arrived++;
      if (arrived >= count) open();
      return opened;
    },
  };
}

/** A readable that yields `bytes` from memory. */
export function streamOf(bytes: Buffer): Readable {
  return Readable.from([bytes]);
}


/** A MemoryStore holding items (pushed, so verified). */
export async function storeWith(name: string, ...items: Content[]): Promise<MemoryStore> {
  const store = new MemoryStore(name);
  for (const c of items) await store.push(c.desc, c.bytes);
  return store;
}

/**
 * A source that serves `wrong` bytes for one digest, verifying on fetch the
 * way a real Target does unless asked not to, so both halves of the
 * verification (source side, destination side) can be exercised.
 */
export function lyingSource(store: MemoryStore, digest: string, wrong: Buffer): Target {
  return {
    name: `${store.name} (lying about ${digest})`,
    exists: (desc) => store.exists(desc),
    resolve: (ref) => store.resolve(ref),
    tag: (desc, tag) => store.tag(desc, tag),
    push: (desc, body, opts) => store.push(desc, body, opts),
    fetch: async (desc, opts) => {
      if (desc.digest !== digest) return store.fetch(desc, opts);
      const raw = streamOf(wrong);
      if (opts?.verify === false) return raw;
      const v = verifyingStream(desc, `${desc.digest} from ${store.name}`);
      pipeline(raw, v, () => {});
      return v;
    },
  };
}
