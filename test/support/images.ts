/**
 * Image fixtures: multi-platform OCI (or Docker) image indexes with pseudo-random layers, pushed to a
 * real registry with plain HTTP requests of their own, or written as an OCI image layout directory.
 *
 *   const built = await buildImageIndex({ url: registry.url, repo: "fixtures/app" },
 *     { platforms: ["linux/amd64", "linux/arm64"], layerSizes: [1 << 20, 5 << 20], tag: "v1" });
 *   await buildImageIndex(layoutSink(dir), { ...sameOptions, seed: built.seed }); // byte-identical copy on disk
 *
 * Layer bytes come from AES-256-CTR keyed by (seed, layer label): random-looking, incompressible, cheap,
 * and reproducible, so the same seed yields the same digests anywhere and `readBlob` can produce a
 * blob again for comparison without any of it being kept in memory.
 *
 * Also `skopeo(args)` to run the real skopeo against these registries and layouts.
 */
import { execFile } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, request } from "undici";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** Where built content goes. `open` may be called more than once (each call starts the bytes afresh). */
export interface ImageSink {
  putBlob(desc: Descriptor, open: () => Readable): Promise<void>;
  putManifest(desc: Descriptor, bytes: Buffer): Promise<void>;
  /** Mark the top-level manifest or index: a tag in a registry, an index.json entry in a layout. */
  setRoot(desc: Descriptor, bytes: Buffer, tag: string | undefined): Promise<void>;
}

export interface RegistryTarget {
  /** "http://127.0.0.1:PORT" (or a proxy's url). */
  url: string;
  repo: string;
  /** Full Authorization header value for pushes, e.g. basicAuthHeader(...) or tokenServer.bearer(repo, ["pull","push"]). */
  authorization?: string;
}

export interface ImageOptions {
  /** Sizes in bytes of each platform's own layers. Default [1024, 64 * 1024]. */
  layerSizes?: number[];
  /** Layers every platform shares (pushed once), placed before the platform's own. Default none. */
  sharedLayerSizes?: number[];
  /** Same seed, same bytes, same digests. Default: random. */
  seed?: string;
  /** Tag for the root in a registry / ref.name annotation in a layout. */
  tag?: string;
  /** "oci" (default) or "docker" (schema 2 manifest list and manifests). */
  format?: "oci" | "docker";
  /** Annotations on the root manifest or index (OCI format only). */
  annotations?: Record<string, string>;
}

export interface IndexOptions extends ImageOptions {
  /** "os/arch[/variant]"; default ["linux/amd64", "linux/arm64"]. */
  platforms?: string[];
}

export interface BuiltImage {
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
  configBytes: Buffer;
  layers: Descriptor[];
}

export interface BuiltImageIndex {
  seed: string;
  /** The index descriptor; `digest` repeats index.digest. */
  index: Descriptor;
  indexBytes: Buffer;
  digest: string;
  images: BuiltImage[];
  /** Every distinct config and layer blob. */
  blobs: Descriptor[];
  /** Index, manifests, configs and layers: everything a full copy must move, each once. */
  descriptors: Descriptor[];
  /** Sum of all blob sizes (configs and layers). */
  blobBytes: number;
  /** The bytes of any descriptor above, regenerated as a stream. */
  readBlob(digest: string): Readable;
}

export interface BuiltSingleImage extends BuiltImage {
  seed: string;
  digest: string;
  descriptors: Descriptor[];
  readBlob(digest: string): Readable;
}

const MEDIA = {
  oci: {
    index: "application/vnd.oci.image.index.v1+json",
    manifest: "application/vnd.oci.image.manifest.v1+json",
    config: "application/vnd.oci.image.config.v1+json",
    layer: "application/vnd.oci.image.layer.v1.tar",
  },
  docker: {
    index: "application/vnd.docker.distribution.manifest.list.v2+json",
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    config: "application/vnd.docker.container.image.v1+json",
    // Random bytes are not gzip; nothing in the copy path decompresses, and Docker has no plain-tar layer type.
    layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  },
} as const;

const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);

/** A reproducible stream of `size` random-looking bytes for `label`. */
export function pseudoRandomStream(label: string, size: number): Readable {
  const key = createHash("sha256").update(label).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  let left = size;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, CHUNK);
      left -= n;
      this.push(cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n)));
    },
  });
}

async function digestStream(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function parsePlatform(text: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = text.split("/");
  if (!os || !architecture) throw new Error(`platform "${text}" is not os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Generates content, hands it to a sink, and remembers how to regenerate every blob. */
class Builder {
  readonly blobs = new Map<string, Descriptor>();
  private readonly sources = new Map<string, () => Readable>();
  readonly seed: string;
  readonly media: (typeof MEDIA)["oci" | "docker"];

  constructor(
    private readonly sink: ImageSink,
    readonly opts: ImageOptions,
  ) {
    this.seed = opts.seed ?? randomBytes(16).toString("hex");
    this.media = MEDIA[opts.format ?? "oci"];
  }

  readBlob = (digest: string): Readable => {
    const source = this.sources.get(digest);
    if (source === undefined) throw new Error(`fixture has no blob ${digest}`);
    return source();
  };

  async layer(label: string, size: number): Promise<Descriptor> {
    const fullLabel = `${this.seed}/${label}`;
    const open = () => pseudoRandomStream(fullLabel, size);
    // Two passes over generated bytes instead of one buffered pass: a monolithic PUT needs the digest up front.
    const desc: Descriptor = { mediaType: this.media.layer, digest: await digestStream(open()), size };
    if (!this.blobs.has(desc.digest)) {
      await this.sink.putBlob(desc, open);
      this.blobs.set(desc.digest, desc);
      this.sources.set(desc.digest, open);
    }
    return desc;
  }

  async json(mediaType: string, value: unknown, kind: "blob" | "manifest"): Promise<{ desc: Descriptor; bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(value));
    const desc: Descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
    this.sources.set(desc.digest, () => Readable.from([bytes]));
    if (kind === "blob") {
      if (!this.blobs.has(desc.digest)) {
        await this.sink.putBlob(desc, () => Readable.from([bytes]));
        this.blobs.set(desc.digest, desc);
      }
    } else {
      await this.sink.putManifest(desc, bytes);
    }
    return { desc, bytes };
  }

  async image(platformText: string, shared: Descriptor[], annotations?: Record<string, string>): Promise<BuiltImage> {
    const platform = parsePlatform(platformText);
    const own: Descriptor[] = [];
    for (const [i, size] of (this.opts.layerSizes ?? [1024, 64 * 1024]).entries()) {
      own.push(await this.layer(`${platformText}/layer/${i}`, size));
    }
    const layers = [...shared, ...own];
    const configValue = {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {},
      // The layers are "uncompressed" random bytes, so each diff_id is the layer digest.
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    };
    const config = await this.json(this.media.config, configValue, "blob");
    const manifestValue = {
      schemaVersion: 2,
      mediaType: this.media.manifest,
      config: { mediaType: config.desc.mediaType, digest: config.desc.digest, size: config.desc.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      ...(annotations ? { annotations } : {}),
    };
    const manifest = await this.json(this.media.manifest, manifestValue, "manifest");
    return {
      manifest: { ...manifest.desc, platform },
      manifestBytes: manifest.bytes,
      config: config.desc,
      configBytes: config.bytes,
      layers,
    };
  }

  async sharedLayers(): Promise<Descriptor[]> {
    const shared: Descriptor[] = [];
    for (const [i, size] of (this.opts.sharedLayerSizes ?? []).entries()) {
      shared.push(await this.layer(`shared/layer/${i}`, size));
    }
    return shared;
  }

  async setRoot(desc: Descriptor, bytes: Buffer): Promise<void> {
    await this.sink.setRoot(desc, bytes, this.opts.tag);
  }
}

function toSink(target: ImageSink | RegistryTarget): ImageSink {
  return "putBlob" in target ? target : registrySink(target);
}

/** Build a multi-platform image index and store it through `target` (a registry repository or any sink). */
export async function buildImageIndex(target: ImageSink | RegistryTarget, opts: IndexOptions = {}): Promise<BuiltImageIndex> {
  if (opts.format === "docker" && opts.annotations) throw new Error("annotations need format oci");
  const builder = new Builder(toSink(target), opts);
  const shared = await builder.sharedLayers();
  const images: BuiltImage[] = [];
  for (const platform of opts.platforms ?? ["linux/amd64", "linux/arm64"]) {
    images.push(await builder.image(platform, shared));
  }
  const indexValue = {
    schemaVersion: 2,
    mediaType: builder.media.index,
    manifests: images.map((img) => ({
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: img.manifest.platform,
    })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const index = await builder.json(builder.media.index, indexValue, "manifest");
  await builder.setRoot(index.desc, index.bytes);
  const blobs = [...builder.blobs.values()];
  return {
    seed: builder.seed,
    index: index.desc,
    indexBytes: index.bytes,
    digest: index.desc.digest,
    images,
    blobs,
    descriptors: [index.desc, ...images.map((i) => i.manifest), ...blobs],
    blobBytes: blobs.reduce((sum, b) => sum + b.size, 0),
    readBlob: builder.readBlob,
  };
}

/** Build one single-platform image manifest (no index). */
export async function buildImage(
  target: ImageSink | RegistryTarget,
  opts: ImageOptions & { platform?: string } = {},
): Promise<BuiltSingleImage> {
  if (opts.format === "docker" && opts.annotations) throw new Error("annotations need format oci");
  const builder = new Builder(toSink(target), opts);
  const shared = await builder.sharedLayers();
  const image = await builder.image(opts.platform ?? "linux/amd64", shared, opts.annotations);
  await builder.setRoot(image.manifest, image.manifestBytes);
  return {
    ...image,
    seed: builder.seed,
    digest: image.manifest.digest,
    descriptors: [image.manifest, ...builder.blobs.values()],
    readBlob: builder.readBlob,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Registry sink: monolithic upload (POST then PUT ?digest=), manifests by digest, the root also by tag.

const fixtureAgent = new Agent({ keepAliveTimeout: 4_000 });
const MAX_ERROR_BODY = 4096;

export function registrySink(target: RegistryTarget): ImageSink {
  const base = new URL(target.url);
  const auth: Record<string, string> = target.authorization ? { authorization: target.authorization } : {};
  const where = `${base.host}/${target.repo}`;

  const putManifest = async (desc: Descriptor, bytes: Buffer, reference: string): Promise<void> => {
    const res = await request(new URL(`/v2/${target.repo}/manifests/${reference}`, base), {
      method: "PUT",
      headers: { ...auth, "content-type": desc.mediaType, "content-length": String(bytes.length) },
      body: bytes,
      dispatcher: fixtureAgent,
    });
    await expectStatus(res, 201, `PUT manifest ${where}:${reference}`);
  };

  return {
    async putBlob(desc, openBody) {
      const started = await request(new URL(`/v2/${target.repo}/blobs/uploads/`, base), {
        method: "POST",
        headers: { ...auth, "content-length": "0" },
        dispatcher: fixtureAgent,
      });
      const location = started.headers.location;
      await expectStatus(started, 202, `POST blob upload ${where}`);
      if (typeof location !== "string") throw new Error(`POST blob upload ${where}: no Location header`);
      const putUrl = new URL(location, base);
      putUrl.searchParams.set("digest", desc.digest);
      const res = await request(putUrl, {
        method: "PUT",
        headers: { ...auth, "content-type": "application/octet-stream", "content-length": String(desc.size) },
        body: openBody(),
        dispatcher: fixtureAgent,
      });
      await expectStatus(res, 201, `PUT blob ${where}@${desc.digest}`);
    },
    putManifest: (desc, bytes) => putManifest(desc, bytes, desc.digest),
    async setRoot(desc, bytes, tag) {
      if (tag !== undefined) await putManifest(desc, bytes, tag);
    },
  };
}

async function expectStatus(
  res: { statusCode: number; body: { text(): Promise<string>; dump(): Promise<void> } },
  want: number,
  what: string,
): Promise<void> {
  if (res.statusCode === want) {
    await res.body.dump();
    return;
  }
  const text = (await res.body.text()).slice(0, MAX_ERROR_BODY);
  throw new Error(`${what}: HTTP ${res.statusCode} (wanted ${want}): ${text}`);
}

// ---------------------------------------------------------------------------------------------------------
// OCI image layout sink: written straight to disk, each file under its final name only when complete.

export function layoutSink(dir: string): ImageSink {
  const blobPath = (digest: string) => join(dir, "blobs", ...digest.split(":"));
  let prepared: Promise<void> | undefined;
  const prepare = () =>
    (prepared ??= (async () => {
      await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
      await atomicWrite(join(dir, "oci-layout"), Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    })());

  const writeBlob = async (digest: string, body: Readable): Promise<void> => {
    await prepare();
    const final = blobPath(digest);
    const temp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
    await pipeline(body, createWriteStream(temp));
    await fsyncFile(temp);
    await rename(temp, final);
  };

  return {
    putBlob: (desc, openBody) => writeBlob(desc.digest, openBody()),
    putManifest: (desc, bytes) => writeBlob(desc.digest, Readable.from([bytes])),
    async setRoot(desc, bytes, tag) {
      await writeBlob(desc.digest, Readable.from([bytes]));
      const indexPath = join(dir, "index.json");
      let index: { schemaVersion: number; mediaType?: string; manifests: Descriptor[] };
      try {
        index = JSON.parse(await readFile(indexPath, "utf8"));
      } catch {
        index = { schemaVersion: 2, mediaType: MEDIA.oci.index, manifests: [] };
      }
      const refName = "org.opencontainers.image.ref.name";
      // A tag names one manifest: drop any earlier holder of it.
      index.manifests = index.manifests.filter((m) => tag === undefined || m.annotations?.[refName] !== tag);
      const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
      if (tag !== undefined) entry.annotations = { [refName]: tag };
      index.manifests.push(entry);
      await atomicWrite(indexPath, Buffer.from(JSON.stringify(index)));
    },
  };
}

/** Write an image index as an OCI layout at `dir` (created if needed); the same seed gives the same digests as a push. */
export function writeImageIndexLayout(dir: string, opts: IndexOptions = {}): Promise<BuiltImageIndex> {
  return buildImageIndex(layoutSink(dir), opts);
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function atomicWrite(path: string, bytes: Buffer): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  await writeFile(temp, bytes);
  await fsyncFile(temp);
  await rename(temp, path);
}

// ---------------------------------------------------------------------------------------------------------
// skopeo

export const SKOPEO_BINARY = "/usr/bin/skopeo";
const SKOPEO_TIMEOUT_MS = 120_000;
const SKOPEO_MAX_OUTPUT = 64 * 1024 * 1024;

export interface SkopeoOptions {
  timeoutMs?: number;
}

/**
 * Run skopeo with --insecure-policy; docker:// references get --tls-verify=false (--src-/--dest- for
 * copy) unless the caller set a tls flag. Returns stdout as a string; throws with stderr on failure.
 */
export async function skopeo(args: string[], opts: SkopeoOptions = {}): Promise<string> {
  return (await skopeoBytes(args, opts)).toString("utf8");
}

/** skopeo() returning stdout's exact bytes (for `inspect --raw`, whose digest matters). */
export function skopeoBytes(args: string[], opts: SkopeoOptions = {}): Promise<Buffer> {
  const full = ["--insecure-policy", ...withTlsFlags(args)];
  return new Promise((resolve, reject) => {
    execFile(
      SKOPEO_BINARY,
      full,
      { encoding: "buffer", timeout: opts.timeoutMs ?? SKOPEO_TIMEOUT_MS, maxBuffer: SKOPEO_MAX_OUTPUT },
      (error, stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
          reject(
            new Error(
              missing
                ? `${SKOPEO_BINARY} is missing; install it with: sudo apt-get install -y docker-registry skopeo apache2-utils`
                : `skopeo ${full.join(" ")} failed (${error.killed ? "timed out" : `exit ${String(error.code)}`}): ${stderr.toString("utf8").trim()}`,
            ),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

function withTlsFlags(args: string[]): string[] {
  const [command, ...rest] = args;
  if (command === undefined || rest.some((a) => /^--(src-|dest-)?tls-verify/.test(a))) return args;
  const isDocker = (a: string | undefined) => a?.startsWith("docker://") === true;
  if (command === "copy") {
    // SRC and DEST are the last two arguments.
    const flags: string[] = [];
    if (isDocker(rest.at(-2))) flags.push("--src-tls-verify=false");
    if (isDocker(rest.at(-1))) flags.push("--dest-tls-verify=false");
    return [command, ...flags, ...rest];
  }
  return rest.some((a) => isDocker(a)) ? [command, "--tls-verify=false", ...rest] : args;
}
