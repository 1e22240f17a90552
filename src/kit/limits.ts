/**
 * The kit's own limits on what it reads (kit.yaml, README, the kit config),
 * beside the general ones in src/oras/limits.ts; spec/limits.md lists both
 * with the error each gives.
 */

const MiB = 1024 * 1024;

/** kit.yaml is a short declaration; anything bigger is a mistake or an attack. */
export const MAX_KIT_FILE_BYTES = 1 * MiB;
/** The kit config (canonical JSON of the validated kit) in an artifact. */
export const MAX_KIT_CONFIG_BYTES = 1 * MiB;
/** kit's own config file ($KIT_CONFIG): registries and their mirrors, a few lines per registry. */
export const MAX_CONFIG_FILE_BYTES = 1 * MiB;
/** README.md, on disk and as an artifact layer. */
export const MAX_README_BYTES = 1 * MiB;
/** Aliases are allowed, but a "billion laughs" file must fail fast. */
export const MAX_ALIAS_EXPANSIONS = 100;
/**
 * YAML tokens (scalars, indicators, spaces, line breaks) in kit.yaml (and in
 * the config file, whose hundred registries with their mirrors fit too): a kit
 * with a thousand egress hosts has about 6,000. The YAML parser costs a few
 * microseconds a token and its duplicate-key check grows with the square of
 * a mapping's keys, so a 1 MiB file of tokens would take minutes.
 */
export const MAX_KIT_YAML_TOKENS = 10_000;
/** Nesting of collections in kit.yaml (the schema needs 4); deeper only overflows the parser's stack. */
export const MAX_KIT_YAML_DEPTH = 32;

// ---- bundles (kit save / kit load, spec/bundle-v1.md) ----

/** Entries of one bundle's tar (files, directories, extended headers not counted). */
export const MAX_BUNDLE_ENTRIES = 100_000;
/**
 * Bytes kept in memory while a bundle is verified: index.json, the manifests,
 * the kits' files, and small blobs that arrived before anything named them
 * (a bundle kit save wrote names everything first, so keeps only the first three).
 */
export const MAX_BUNDLE_KEPT_BYTES = 64 * MiB;
/** One tar extended header (pax or GNU long name): a long path needs a few hundred bytes. */
export const MAX_TAR_HEADER_BYTES = 64 * 1024;
/** A `kit mirror -f` list: references and repositories, a line or three each. */
export const MAX_MIRROR_LIST_BYTES = 1 * MiB;
/**
 * YAML tokens in a mirror list: five a reference, twenty a repository with
 * its rules, so some 2,000 references; the same budget as kit.yaml's, read
 * (and every problem located) well within a fraction of a second.
 */
export const MAX_MIRROR_LIST_TOKENS = 10_000;

/** A key file (PEM): a P-256 key is a few hundred bytes, a cosign key file under 1 KiB. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
/**
 * Memory a cosign key file may make scrypt use (128·N·r bytes): cosign's own
 * N=32768, r=8 is 32 MiB; the strongest parameters in use (N=2^17) 128 MiB.
 */
export const MAX_SCRYPT_MEMORY_BYTES = 256 * MiB;
/** scrypt's p: its time grows with it; cosign uses 1. */
export const MAX_SCRYPT_PARALLELISM = 16;
/** Signatures of one kit examined, both forms together: a verifier must not read without end. */
export const MAX_SIGNATURES = 256;
/** A cosign simple-signing payload (a few hundred bytes of JSON). */
export const MAX_SIGNATURE_PAYLOAD_BYTES = 64 * 1024;
/** A Sigstore bundle (a certificate chain and transparency log entries are a few KiB). */
export const MAX_SIGNATURE_BUNDLE_BYTES = 1 * MiB;
