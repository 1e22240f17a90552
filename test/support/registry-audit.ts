/**
 * An audit of everything a test registry holds, read from its storage directory and its API (never through
 * a proxy): every blob file re-hashed against the digest that names it, and every manifest revision of every
 * repository fetched, checked against its digest, parsed, and its children asked for in that repository.
 * A registry that took a corrupt or partial push shows up here as problems.
 */
import { createReadStream, type Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { Agent, request } from "undici";
import { manifestSuccessors } from "../../src/oras/copy/successors.js";
import { createDigester, digestOf } from "../../src/oras/digest.js";
import type { RunningRegistry } from "./registry.js";

export interface RegistryAudit {
  repositories: number;
  manifests: number;
  blobs: number;
  /** One line per problem: a blob under a wrong digest, a manifest that does not match or parse, a missing child. */
  problems: string[];
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export async function auditRegistry(registry: RunningRegistry): Promise<RegistryAudit> {
  const root = path.join(registry.storageDir, "docker/registry/v2");
  const audit: RegistryAudit = { repositories: 0, manifests: 0, blobs: 0, problems: [] };
  const agent = new Agent();
  try {
    for (const file of await filesNamed(path.join(root, "blobs/sha256"), "data")) {
      audit.blobs++;
      const named = `sha256:${path.basename(path.dirname(file))}`;
      const actual = await hashFile(file);
      if (actual !== named) audit.problems.push(`blob ${named} holds bytes that hash to ${actual}`);
    }
    for (const repo of await repositories(path.join(root, "repositories"))) {
      audit.repositories++;
      const revisions = path.join(root, "repositories", repo, "_manifests/revisions/sha256");
      for (const hex of await readdir(revisions).catch(() => [])) {
        audit.manifests++;
        await auditManifest(registry, agent, repo, `sha256:${hex}`, audit.problems);
      }
    }
  } finally {
    await agent.close();
  }
  return audit;
}

async function auditManifest(registry: RunningRegistry, agent: Agent, repo: string, digest: string, problems: string[]): Promise<void> {
  const res = await request(`${registry.url}/v2/${repo}/manifests/${digest}`, { headers: { accept: ACCEPT }, dispatcher: agent });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) {
    problems.push(`${repo}@${digest}: a revision the registry will not serve (${res.statusCode})`);
    return;
  }
  const actual = digestOf(bytes);
  if (actual !== digest) {
    problems.push(`${repo}@${digest}: served bytes hash to ${actual}`);
    return;
  }
  const mediaType = String(res.headers["content-type"] ?? "");
  let children;
  try {
    children = manifestSuccessors({ mediaType, digest, size: bytes.length }, bytes);
  } catch (err) {
    problems.push(`${repo}@${digest}: ${(err as Error).message}`);
    return;
  }
  for (const child of children) {
    const kind = child.kind === "manifest" ? "manifests" : "blobs";
    const head = await request(`${registry.url}/v2/${repo}/${kind}/${child.descriptor.digest}`, { method: "HEAD", headers: { accept: ACCEPT }, dispatcher: agent });
    await head.body.dump();
    if (head.statusCode !== 200) problems.push(`${repo}@${digest}: its ${child.role} ${child.descriptor.digest} is missing (${head.statusCode})`);
    else if (Number(head.headers["content-length"]) !== child.descriptor.size) {
      problems.push(`${repo}@${digest}: its ${child.role} ${child.descriptor.digest} is ${String(head.headers["content-length"])} bytes, not ${child.descriptor.size}`);
    }
  }
}

/** Repository names: the directories under repositories/ that hold a `_manifests` directory. */
async function repositories(dir: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith("_")) continue;
    const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    const sub = path.join(dir, entry.name);
    const children: string[] = await readdir(sub).catch(() => []);
    if (children.includes("_manifests")) found.push(name);
    found.push(...(await repositories(sub, name)));
  }
  return found;
}

async function filesNamed(dir: string, name: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name === name).map((e) => path.join(e.parentPath, e.name));
}

async function hashFile(file: string): Promise<string> {
  const digester = createDigester();
  for await (const chunk of createReadStream(file)) digester.update(chunk as Buffer);
  return `sha256:${digester.digest("hex")}`;
}
