/**
 * The referrers view of a store: subject digest -> the manifests whose
 * `subject` names it, as the referrers API describes them. Stores that keep
 * no referrers index of their own (an OCI layout, MemoryStore) hold one of
 * these and update it as manifests are pushed and content is deleted.
 */
import type { Descriptor } from "./descriptor.js";
import { referrerDescriptor, type ManifestLinks } from "./manifest.js";

export class PredecessorGraph {
  private readonly bySubject = new Map<string, Descriptor[]>();

  /** A graph of the manifests `manifests` lists that have a subject; `linksOf` reads one (undefined: unreadable, skipped). */
  static async build(
    manifests: Iterable<Descriptor>,
    linksOf: (desc: Descriptor) => Promise<ManifestLinks | undefined>,
    signal?: AbortSignal,
  ): Promise<PredecessorGraph> {
    const graph = new PredecessorGraph();
    for (const desc of manifests) {
      signal?.throwIfAborted();
      graph.addManifest(desc, await linksOf(desc));
    }
    return graph;
  }

  /** Record the manifest `desc` as a referrer of its subject, once; a manifest without a subject adds nothing. */
  addManifest(desc: Descriptor, links: ManifestLinks | undefined): void {
    if (!links?.subject) return;
    const subject = links.subject.digest;
    const list = this.bySubject.get(subject) ?? [];
    if (!list.some((d) => d.digest === desc.digest)) list.push(referrerDescriptor(desc, links));
    this.bySubject.set(subject, list);
  }

  /** Deleted content is no longer anyone's referrer. */
  removeReferrer(digest: string): void {
    for (const [subject, list] of this.bySubject) {
      const kept = list.filter((d) => d.digest !== digest);
      if (kept.length !== list.length) this.bySubject.set(subject, kept);
    }
  }

  /** Drop what is known about referrers of `digest`. */
  forgetSubject(digest: string): void {
    this.bySubject.delete(digest);
  }

  /** Referrers of `digest` (copies), optionally only those of one artifactType. */
  predecessors(digest: string, artifactType?: string): Descriptor[] {
    const found = this.bySubject.get(digest) ?? [];
    return found.filter((d) => artifactType === undefined || d.artifactType === artifactType).map((d) => ({ ...d }));
  }
}
