/** `kit init`: a valid, commented starting point. */
import path from "node:path";
import { fsCalls, IoError, parseReference, UsageError, writeFilesAtomic } from "../oras/content.js";
import { addMissingReadme } from "./init-readme.js";
import { isKitName } from "./format.js";
import { KIT_FILE } from "./load.js";

const { mkdir } = fsCalls;

export interface InitResult {
  files: string[];
  name: string;
  /** Existing files left as they were (a kit.yaml that only lacked its README.md). */
  kept?: string[];
}

/** The image `kit init` writes unless given one: a placeholder the author replaces (push cannot pin it). */
export const PLACEHOLDER_IMAGE = "ghcr.io/example/agent-base:1.0.0";

export interface InitOptions {
  /** Kit name; default: the directory name as a slug. */
  name?: string;
  /** Base image written into kit.yaml, with a tag or a digest; default PLACEHOLDER_IMAGE. */
  image?: string;
}

export async function initKit(dir: string, opts: InitOptions = {}): Promise<InitResult> {
  const readmeOnly = await addMissingReadme(dir, opts.name ?? slugFromDirectory(dir));
  if (readmeOnly !== undefined) return readmeOnly;
  const name = opts.name ?? slugFromDirectory(dir);
  if (!isKitName(name)) {
    throw new UsageError(`invalid kit name "${name}": use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`, {
      hint: opts.name === undefined ? "pass --name NAME" : undefined,
    });
  }
  const image = opts.image === undefined ? PLACEHOLDER_IMAGE : checkedImage(opts.image);
  const files = [path.join(dir, KIT_FILE), path.join(dir, "README.md")];
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new IoError(`cannot create ${dir}: ${(err as Error).message}`, { cause: err });
  }
  await writeFilesAtomic(
    [
      [files[0]!, kitTemplate(name, image)],
      [files[1]!, readmeTemplate(name)],
    ],
    { hint: '"kit init" never overwrites files: remove it or choose another directory' },
  );
  return { files, name };
}

function slugFromDirectory(dir: string): string {
  return path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}


/** The same rule kit.yaml's schema applies (a tag or a digest), checked before anything is written. */
function checkedImage(text: string): string {
  let ref;
  try {
    ref = parseReference(text);
  } catch (err) {
    throw new UsageError(`invalid --image "${text}": ${(err as Error).message}`);
  }
  if (ref.tag === undefined && ref.digest === undefined) {
    throw new UsageError(`invalid --image "${text}": it needs a tag or a digest`, { hint: `for example --image ${text}:1.0.0` });
  }
  // As written (not normalised): kit.yaml keeps the author's spelling, as it would by hand.
  return text.trim();
}

function kitTemplate(name: string, image: string): string {
  return `# Aegis kit manifest v1 (see spec/kit-manifest-v1.md). Kits declare; Aegis enforces.

# Lowercase slug; it names the kit in references such as ${name}@sha256:…
name: ${name}
# SemVer 2.0, quoted so YAML keeps it a string.
version: "0.1.0"
description: "What this kit's agents do"

# Default base image. kit push pins it to a digest, so the pushed kit is reproducible.${
    image === PLACEHOLDER_IMAGE ? "\n# A placeholder: replace it with your agent's image (or run kit init --image REF)." : ""
  }
image: ${image}

secrets:
  # Injected as environment variables; an instance cannot start without the required ones.
  required:
    - name: API_KEY
      description: "API key the agent uses"
  optional: []

# Guest ports reachable through the Aegis router (protocol defaults to tcp).
exposes:
  - port: 8080

# Defaults for a new instance and the largest values it may ask for.
resources:
  memory_mb: 1024
  vcpus: 1
  max_memory_mb: 4096
  max_vcpus: 4

# Outbound hosts the agent expects to reach (hints; Aegis owns the network).
egress:
  - api.example.com
`;
}

function readmeTemplate(name: string): string {
  return `# ${name}

What this kit is for, which secrets it needs and where to get them, and what its agents do.

## Secrets

- \`API_KEY\` (required): API key the agent uses.

## Ports

- 8080/tcp: the agent's HTTP endpoint.
`;
}
