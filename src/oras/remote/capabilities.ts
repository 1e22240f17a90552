import { OciError } from "../errors.js";

/**
 * What a registry turned out to support, learned once and remembered for as
 * long as the caller keeps the RegistryCapabilities (the CLI: one per
 * process), so every repository of that registry skips the probe: the
 * referrers API (an `OCI-Subject` answer to a manifest PUT, or the API
 * answering) and whether it takes image-spec 1.1 fields.
 */
export type Support = "unknown" | "supported" | "unsupported";

export interface RegistryFeatures {
  /** `GET /v2/<name>/referrers/<digest>`; unsupported means the tag-schema fallback index is used. */
  referrersApi: Support;
  /** Manifests with `artifactType` / `subject` (OCI 1.1); unsupported means the image-spec 1.0 form is written. */
  imageSpec11: Support;
  /**
   * An image-spec 1.0 form manifest that keeps `subject` (no `artifactType`),
   * once `imageSpec11` is unsupported; unsupported means a referrer is written
   * without it and listed in its subject's fallback index by the writer.
   */
  subjectIn10: Support;
}

export class RegistryCapabilities {
  private readonly byRegistry = new Map<string, RegistryFeatures>();

  /** The (mutable, shared) record for one registry host. */
  of(registry: string): RegistryFeatures {
    let features = this.byRegistry.get(registry);
    if (features === undefined) {
      features = { referrersApi: "unknown", imageSpec11: "unknown", subjectIn10: "unknown" };
      this.byRegistry.set(registry, features);
    }
    return features;
  }
}

/**
 * A manifest PUT refused because of its OCI 1.1 fields (what older ECR,
 * Harbor and GitLab answer to `artifactType` / `subject`): MANIFEST_INVALID
 * or UNSUPPORTED, or a bare 400/405/415 without error codes.
 */
export function refusesOci11Fields(err: unknown): boolean {
  if (!(err instanceof OciError) || err.response === undefined) return false;
  const { method, url, status, errors } = err.response;
  if (method !== "PUT" || !url.includes("/manifests/")) return false;
  const codes = errors.map((e) => e.code);
  if (codes.includes("MANIFEST_INVALID") || codes.includes("UNSUPPORTED")) return true;
  return codes.length === 0 && (status === 400 || status === 405 || status === 415);
}
