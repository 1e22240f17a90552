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
}

export class RegistryCapabilities {
  private readonly byRegistry = new Map<string, RegistryFeatures>();

  /** The (mutable, shared) record for one registry host. */
  of(registry: string): RegistryFeatures {
    let features = this.byRegistry.get(registry);
    if (features === undefined) {
      features = { referrersApi: "unknown", imageSpec11: "unknown" };
      this.byRegistry.set(registry, features);
    }
    return features;
  }
}
