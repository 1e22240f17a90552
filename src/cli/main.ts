/**
 * The CLI: commander definitions only. Each action loads its command module on
 * demand, so `kit --version` never pays for YAML, zod or HTTP.
 */
import { Argument, Command, CommanderError, Option } from "commander";
import { examplesHelp } from "./examples.js";
import { debugEnabled, errorDocument, ExitCode, exitCodeFor, formatError, usageErrorFrom } from "./exit.js";
import { printedJson, printError, printJson, settleOutput, watchStdout } from "./output.js";
import { packageVersion } from "./version.js";

/** Commands report failure by throwing; a command may also return a non-zero exit code. */
type CommandResult = Promise<number | void>;

function lazy<A extends unknown[]>(load: () => Promise<{ run: (...args: A) => CommandResult }>) {
  return async (...args: A): Promise<void> => {
    const mod = await load();
    const code = await mod.run(...args);
    if (typeof code === "number") process.exitCode = code;
  };
}

/**
 * The commander program. With `only`, a command name: just that command
 * (commander parses its arguments, prints its help and its usage errors as
 * with all of them), since defining all ~35 costs every start ~4 ms; the
 * whole program when there is no such command, so commander can say so.
 */
export function buildProgram(only?: string): Command {
  // help and completion read the whole program.
  const wanted = (name: string) => only === undefined || only === "help" || only === "completion" || name === only;
  const program = new Command("kit")
    .description("Package Aegis kits as OCI artifacts and move them between registries")
    .version(packageVersion(), "-V, --version", "print the version")
    .addOption(new Option("--debug", "print stack traces on errors (or set KIT_DEBUG=1)"))
    // Usage errors are printed by main() in the one error form (and as JSON with --json), not by commander.
    .configureOutput({ outputError: () => {} })
    // Set before subcommands are added so they inherit it: usage errors must exit 2, not commander's 1.
    .exitOverride();

  if (wanted("validate")) {
    program
      .command("validate")
      .description("validate a kit directory (containing kit.yaml) or a kit YAML file")
      .argument("[path]", "kit directory or YAML file", ".")
      .option("--json", 'print {"valid", "errors"} as JSON')
      .action(lazy(() => import("./commands/validate.js")));
  }

  if (wanted("init")) {
    program
      .command("init")
      .description("create a commented kit.yaml and README.md (never overwrites)")
      .argument("[dir]", "directory to create the kit in", ".")
      .option("--name <name>", "kit name (default: the directory name)")
      .option("--image <ref>", "base image to write into kit.yaml, REGISTRY/REPO:TAG or …@sha256:… (default: a placeholder to edit)")
      .action(lazy(() => import("./commands/init.js")));
  }

  if (wanted("schema")) {
    program
      .command("schema")
      .description("print the JSON Schema of kit.yaml (for editors and yaml-language-server)")
      .action(lazy(() => import("./commands/schema.js")));
  }

  if (wanted("pack")) {
    addRemoteFlags(
      program
        .command("pack")
        .description("validate a kit, pin its image and write the artifact into an OCI layout (no registry needed)")
        .argument("[dir]", "kit directory", ".")
        .requiredOption("-o, --output <path>", "the OCI layout to write: PATH[:TAG] or oci:PATH[:TAG] (TAG defaults to the kit's version)")
        .option("--no-pin", "do not resolve the image to a digest; the kit is marked unpinned")
        .option("--created <time>", 'record org.opencontainers.image.created (RFC 3339 or "now"; default: SOURCE_DATE_EPOCH or none)')
        .option("--json", 'print {"reference", "digest", "image", "tags", "warnings"}'),
    ).action(lazy(() => import("./commands/pack.js")));
  }

  if (wanted("push")) {
    addRemoteFlags(
      program
        .command("push")
        .description("validate a kit, pin its image by digest and push it to a registry (or oci:PATH:TAG)")
        .argument("<ref>", "REGISTRY/REPO[:TAG] (TAG defaults to the kit's version) or oci:PATH[:TAG]")
        .argument("[dir]", "kit directory", ".")
        .option("-t, --tag <tag>", "an extra tag (repeatable)", collect, [])
        .option("--no-pin", "do not resolve the image to a digest; the kit is marked unpinned")
        .option("--attach", "make the kit a referrer of its base image and push it into the image's repository too")
        .option("--sign <key>", "then sign what was pushed with this private key, as kit sign does (registry references)")
        .option("--sign-format <form>", "with --sign: simplesigning, bundle or both (default both)")
        .option("--passphrase-stdin", PASSPHRASE_STDIN_HELP)
        .option("--created <time>", 'record org.opencontainers.image.created (RFC 3339 or "now"; default: SOURCE_DATE_EPOCH or none)')
        .option("--json", 'print {"reference", "digest", "image", "tags", "warnings", "form", "attached"?, "signed"?}')
        .option("-q, --quiet", QUIET_HELP),
    ).action(lazy(() => import("./commands/push.js")));
  }

  if (wanted("pull")) {
    addRemoteFlags(
      program
        .command("pull")
        .description("fetch and verify a kit, store it locally, optionally write its files")
        .argument("<ref>", "REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST, oci:PATH:TAG, or NAME@DIGEST / NAME:TAG from the local store")
        .option("-o, --output <dir>", "also write kit.yaml (image pinned) and README.md into DIR")
        .option("--force", "replace existing files in the output directory")
        .option("--allow-unpinned", "accept a kit whose image is not pinned by digest")
        .option("-r, --referrers", "also store what is attached to the kit (signatures, SBOMs, other referrers), recursively")
        .option("--json", 'print {"reference", "digest", "kit", "image", "endpoint"} (what aegisd consumes)')
        .option("-q, --quiet", QUIET_HELP),
    ).action(lazy(() => import("./commands/pull.js")));
  }

  if (wanted("inspect")) {
    addRemoteFlags(
      program
        .command("inspect")
        .description("show a kit's manifest, config, layers, annotations and pinned image")
        .argument("<ref>", "registry, oci: layout or local store reference")
        .option("--json", "print the inspection as JSON"),
    ).action(lazy(() => import("./commands/inspect.js")));
  }

  if (wanted("ls")) {
    program
      .command("ls")
      .description("list the kits in the local store ($KIT_STORE, default ~/.aegis/kits/store)")
      .option("--no-trunc", "print full digests and pinned image references")
      .option("--json", 'print {"kits": [{"name", "version", "reference", "digest", "image"}]}')
      .action(lazy(() => import("./commands/ls.js")));
  }

  if (wanted("rm")) {
    program
      .command("rm")
      .description("remove kits from the local store by reference, with the base images and attachments only they needed (blobs go with the next gc)")
      .argument("<ref>", "REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST, or NAME, NAME:TAG, NAME@DIGEST")
      .option("--json", 'print {"removed": [{"reference", "digest", "name", "version"}], "alsoRemoved": [{"kind", "reference", "digest", "subject"?}]}')
      .action(lazy(() => import("./commands/rm.js")));
  }

  if (wanted("gc")) {
    addGcOptions(program.command("gc")).action(lazy(() => import("./commands/gc.js")));
  }

  if (wanted("store")) {
    const store = program.command("store").description("maintain the local store (or any OCI layout with --layout)");
    store
      .command("verify")
      .description("re-hash every blob and check that every entry and every manifest's content is there (changes nothing)")
      .option("--layout <dir>", "verify the OCI layout DIR (or oci:DIR) instead of the local store")
      .option("--json", 'print {"layout", "ok", "blobs", "bytes", "manifests", "problems"}')
      .action(lazy(() => import("./commands/store-verify.js")));
    addGcOptions(store.command("gc")).action(lazy(() => import("./commands/gc.js")));
  }

  if (wanted("config")) {
    const config = program.command("config").description("check kit's config file ($KIT_CONFIG, default ~/.config/aegis/kit.yaml) or export its mirrors");
    config
      .command("check")
      .description("validate the config file: every problem at FILE:LINE:COL")
      .argument("[file]", "the config file (default: $KIT_CONFIG or ~/.config/aegis/kit.yaml)")
      .option("--json", 'print {"file", "found", "valid", "errors"}')
      .action(lazy(() => import("./commands/config-check.js")));
    config
      .command("export")
      .description("write the config's registries and mirrors for containerd (hosts.toml) or containers (registries.conf)")
      .argument("[file]", "the config file (default: $KIT_CONFIG or ~/.config/aegis/kit.yaml)")
      .addOption(new Option("--format <format>", "containerd: DIR/HOST/hosts.toml per registry; registries.conf: a containers-registries.conf fragment").choices(["containerd", "registries.conf"]).makeOptionMandatory())
      .option("-o, --output <path>", "containerd: the directory (its config_path, e.g. /etc/containerd/certs.d); registries.conf: the file (default: standard output)")
      .option("--force", "replace files that exist")
      .action(lazy(() => import("./commands/config-export.js")));
  }

  if (wanted("save")) {
    addRemoteFlags(
      program
        .command("save")
        .description("write kits and their base images (every platform) into one bundle file: a tarred OCI layout")
        .argument("<ref...>", "kits: REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST, or NAME:TAG / NAME@DIGEST from the local store")
        .requiredOption("-o, --output <file>", "the bundle file to write")
        .option("--compress <kind>", "none, gzip, or zstd (Node.js 22.15 or later)", "none")
        .option("--force", "replace an existing file")
        .option("--allow-unpinned", "accept a kit whose image is not pinned by digest (its image is saved as its tag resolves now)")
        .option("--no-referrers", "leave out what is attached to the kits and images (signatures, SBOMs, referrers)")
        .option("--json", 'print {"bundle", "compression", "entries", "blobs", "bytes"}')
        .option("-q, --quiet", QUIET_HELP),
    ).action(lazy(() => import("./commands/save.js")));
  }

  if (wanted("load")) {
    addRemoteFlags(
      program
        .command("load")
        .description("verify a bundle completely, then load it into the local store or, with --to, a registry")
        .argument("<file>", "a bundle written by kit save (or a tarred OCI layout from skopeo or oras backup)")
        .option("--to <location>", "load into this registry instead: HOST[:PORT][/PREFIX], each repository keeping its path under PREFIX")
        .option("--repository <repo>", "REGISTRY/REPO that entries named by a bare tag (or by nothing) came from")
        .option("--allow-unpinned", "accept kits whose image is not pinned by digest")
        .option("--no-referrers", "leave out what the bundle holds attached to its kits and images (signatures, SBOMs, referrers)")
        .option("--json", 'print {"bundle", "compression", "destination", "entries", "stats"}')
        .option("-q, --quiet", QUIET_HELP),
    ).action(lazy(() => import("./commands/load.js")));
  }

  if (wanted("bundle")) {
    const bundle = program.command("bundle").description("look into bundle files (kit save writes them)");
    bundle
      .command("ls")
      .description("list what a bundle holds, from its index.json, without unpacking it")
      .argument("<file>", "the bundle file")
      .option("--json", 'print {"bundle", "compression", "size", "entries"}')
      .action(lazy(() => import("./commands/bundle-ls.js")));
  }

  if (wanted("copy")) {
    addRemoteFlags(
      program
        .command("copy")
        .description("copy an image, index or artifact with everything it references (registry or oci:PATH)")
        .argument("<src>", "source: REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST or oci:PATH[:TAG|@DIGEST]")
        .argument("<dst>", "destination: registry repository or oci:PATH, with an optional tag")
        .option("--concurrency <n>", "transfers at once (default 4)")
        .option("--dry-run", "print the plan (skip / mount / upload per node) and copy nothing")
        .option("-r, --recursive", "also copy what refers to it (signatures, SBOMs, kits), and what refers to those")
        .option("--json", "print the result as JSON")
        .option("-q, --quiet", QUIET_HELP),
    ).action(lazy(() => import("./commands/copy.js")));
  }

  if (wanted("discover")) {
    addRemoteFlags(
      program
        .command("discover")
        .description("list the kits attached to an image (kit push --attach); --all: every referrer, as a tree")
        .argument("<image>", "REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST or oci:PATH[:TAG|@DIGEST]")
        .option("--all", "every referrer of any artifact type (signatures, SBOMs), with their own referrers")
        .option("--local", "look in the local store instead of the registry (the image named by digest)")
        .option("--json", 'print {"subject", "digest", "kits": [{"name", "version", "digest", "reference"}], "referrers"?}'),
    ).action(lazy(() => import("./commands/discover.js")));
  }

  if (wanted("mirror")) {
    addRemoteFlags(
      program
        .command("mirror")
        .description("copy kits and the base images they pin (every platform) to another registry, paths kept under a prefix")
        .argument("[refs...]", "kits: REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST, or NAME:TAG / NAME@DIGEST from the local store")
        .requiredOption("--to <location>", "the mirror: HOST[:PORT][/PREFIX] (ghcr.io/org/kit:1 goes to HOST/PREFIX/org/kit:1)")
        .option("-f, --file <list>", "also mirror the kits a list names (YAML: references, repositories with tag patterns and SemVer ranges)")
        .option("--allow-unpinned", "accept kits whose image is not pinned: the image is mirrored as its tag resolves now")
        .option("--concurrency <n>", "transfers at once (default 4)")
        .option("--dry-run", "print the plan (what exists, what would be copied, bytes) and copy nothing")
        .option("--no-referrers", "leave out what is attached to the kits and images (signatures, SBOMs, referrers)")
        .option("--json", 'print {"destination", "dryRun", "roots", "totalBytes", "bytesToTransfer", "warnings"}')
        .option("-q, --quiet", QUIET_HELP),
    ).action(lazy(() => import("./commands/mirror.js")));
  }

  if (wanted("sign")) {
    addRemoteFlags(
      program
        .command("sign")
        .description("sign a kit by digest with a key: cosign's simple-signing .sig tag and a Sigstore bundle referrer")
        .argument("<ref>", "REGISTRY/REPO:TAG or @DIGEST, oci:PATH[:TAG|@DIGEST] (with --identity), or NAME@DIGEST from the local store")
        .requiredOption("--key <file>", "the private key: PREFIX.key from kit key generate, or a cosign.key")
        .option("--format <form>", "simplesigning, bundle or both (default both)")
        .option("--identity <repo>", "the repository the signatures name, REGISTRY/REPO (default: the kit's; required for oci: layouts)")
        .option("--passphrase-stdin", PASSPHRASE_STDIN_HELP)
        .option("--json", 'print {"reference", "digest", "identity", "key", "signatures"}'),
    ).action(lazy(() => import("./commands/sign.js")));
  }

  if (wanted("verify")) {
    addRemoteFlags(
      program
        .command("verify")
        .description("verify a kit's signatures (either form) with public keys, offline for layouts and the store; exit 7 when none verifies")
        .argument("<ref>", "REGISTRY/REPO:TAG or @DIGEST, oci:PATH[:TAG|@DIGEST] (with --identity), or NAME@DIGEST from the local store")
        .option("--key <file>", "a public key to trust (repeatable): PREFIX.pub from kit key generate, or a cosign.pub (default: the keys of the config file's trust scope for the kit)", collect, [])
        .option("--identity <repo>", "the repository the signatures must name, REGISTRY/REPO (default: the kit's; required for oci: layouts)")
        .option("--json", 'print {"reference", "digest", "identity", "verified", "signatures": [{"form", "manifest", "blob", "key", "verdict", "reason"}]}'),
    ).action(lazy(() => import("./commands/verify.js")));
  }

  if (wanted("key")) {
    const key = program.command("key").description("make signing keys");
    key
      .command("generate")
      .description("write a new ECDSA P-256 key pair: PREFIX.key (encrypted PKCS#8, mode 0600) and PREFIX.pub")
      .option("-o, --output <prefix>", "write PREFIX.key and PREFIX.pub (default: kit)")
      .option("--force", "replace existing key files")
      .option("--passphrase-stdin", "read the new key's passphrase from standard input (else $KIT_KEY_PASSWORD, else asked twice on the terminal)")
      .option("--json", 'print {"privateKey", "publicKey", "fingerprint"}')
      .action(lazy(() => import("./commands/key.js")));
  }

  if (wanted("resolve")) {
    addRemoteFlags(
      program
        .command("resolve")
        .description("print the digest reference a tag points to: REGISTRY/REPO@sha256:…")
        .argument("<ref>", "reference")
        .option("--json", 'print {"reference", "digest", "mediaType", "size", "endpoint"}'),
    ).action(lazy(() => import("./commands/resolve.js")));
  }

  if (wanted("tags")) {
    addRemoteFlags(
      program
        .command("tags")
        .description("list the tags of a repository, one per line")
        .argument("<repo>", "REGISTRY/REPO or oci:PATH")
        .option("--json", 'print {"tags": [...]}'),
    ).action(lazy(() => import("./commands/tags.js")));
  }

  if (wanted("manifest")) {
    addRemoteFlags(
      program
        .command("manifest")
        .description("print a manifest's raw bytes exactly as stored")
        .argument("<ref>", "reference"),
    ).action(lazy(() => import("./commands/manifest.js")));
  }

  if (wanted("login")) {
    addRemoteFlags(
      program
        .command("login")
        .description("check credentials against a registry and save them in the Docker config (or its credential helper)")
        .argument("<registry>", "registry host, e.g. ghcr.io or localhost:5000")
        .option("-u, --username <user>", "user name (asked on the terminal when not given)")
        .option("-p, --password <password>", "the password or token (insecure: visible to other users; prefer --password-stdin)")
        .option("--password-stdin", "read the password or token from standard input (default on a terminal: ask for it, not echoed)"),
    ).action(lazy(() => import("./commands/login.js")));
  }

  if (wanted("logout")) {
    program
      .command("logout")
      .description("remove saved credentials for a registry")
      .argument("<registry>", "registry host")
      .action(lazy(() => import("./commands/logout.js")));
  }

  if (wanted("show")) {
    addRemoteFlags(
      program
        .command("show")
        .description("print a published kit's kit.yaml (with the pinned image) or README.md; writes nothing to disk")
        .argument("<ref>", "registry, oci: layout or local store reference")
        .option("--readme", "print README.md instead of kit.yaml"),
    ).action(lazy(() => import("./commands/show.js")));
  }

  if (wanted("diff")) {
    addRemoteFlags(
      program
        .command("diff")
        .description("show what changed between two kits, marking breaking changes and new egress hosts for review")
        .argument("<a>", "the old kit: a registry, oci: layout or local store reference, or a kit directory or kit.yaml")
        .argument("<b>", "the new kit, in the same forms")
        .option("--exit-code", "exit 1 when the kits differ (like git diff --exit-code)")
        .option("--json", 'print {"a", "b", "identical", "breaking", "review", "changes"}'),
    ).action(lazy(() => import("./commands/diff.js")));
  }

  if (wanted("version")) {
    program
      .command("version")
      .description("print the version, the git commit it was built from, Node.js and the platform")
      .option("--json", 'print {"version", "commit", "node", "platform", "arch"}')
      .action(lazy(() => import("./commands/version.js")));
  }

  if (wanted("completion")) {
    program
      .command("completion")
      .description("print a shell completion script for bash, zsh or fish")
      .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
      .action(lazy(() => import("./commands/completion.js")));
  }

  // Our own help command: an unknown COMMAND is a usage error (exit 2), and `kit help environment` is a page.
  program.helpCommand(false);
  if (wanted("help")) {
    program
      .command("help")
      .description("display help for a command, or a topic: environment")
      .argument("[command]", "a command, or environment")
      .action(lazy(() => import("./commands/help.js")));
  }

  program.addHelpText("after", '\nRun "kit help environment" for the environment variables kit reads.');
  for (const command of [program, ...program.commands]) {
    const examples = examplesHelp(command.name());
    if (examples !== undefined) command.addHelpText("after", examples);
    for (const sub of command === program ? [] : command.commands) {
      const subExamples = examplesHelp(`${command.name()} ${sub.name()}`);
      if (subExamples !== undefined) sub.addHelpText("after", subExamples);
    }
  }
  if (only !== undefined && !program.commands.some((c) => c.name() === only)) return buildProgram();
  return program;
}

const QUIET_HELP = "no progress on the terminal, only the final line";
const PASSPHRASE_STDIN_HELP = "read the key's passphrase from standard input (else $KIT_KEY_PASSWORD, else asked on the terminal)";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `kit gc` and `kit store gc` are one command. */
function addGcOptions(command: Command): Command {
  return command
    .description("delete blobs of the local store (or an OCI layout) that nothing recorded references")
    .option("--layout <dir>", "collect the OCI layout DIR (or oci:DIR) instead of the local store")
    .option("--json", 'print {"removedBlobs", "freedBytes"}');
}

function addRemoteFlags(command: Command): Command {
  return command
    .option("--plain-http", "use HTTP instead of HTTPS (loopback registries use HTTP already)")
    .option("--insecure", "do not verify the registry's TLS certificate")
    .option("--timeout <duration>", "the most one registry operation (a manifest, a blob) may take, retries included (default: no limit; $KIT_TIMEOUT)")
    .option("--connect-timeout <duration>", "limit on connecting to a registry (default 30s; $KIT_CONNECT_TIMEOUT)")
    .option("--headers-timeout <duration>", "limit on waiting for a registry to start answering a request (default 60s; $KIT_HEADERS_TIMEOUT)")
    .option("--idle-timeout <duration>", "limit on a registry's silence in the middle of a response (default 30s; $KIT_IDLE_TIMEOUT)");
}

/**
 * Runs the CLI and returns the exit code once everything printed has reached
 * its reader; never throws. Output that could not be written turns a success
 * into a failure: a reader must never take a cut document for the whole one.
 */
export async function main(argv: readonly string[]): Promise<number> {
  watchStdout();
  const code = await runCommand(argv);
  const failure = await settleOutput();
  if (failure === undefined) return code;
  // A reader that closed the pipe early chose to stop reading; anything else (a full disk) is worth a line.
  if ((failure as NodeJS.ErrnoException).code !== "EPIPE") {
    printError(`kit: error: cannot write to standard output: ${failure.message}`);
    await settleOutput();
  }
  return code === ExitCode.OK ? ExitCode.FAILURE : code;
}

async function runCommand(argv: readonly string[]): Promise<number> {
  // kit's own options (--debug, --version, --help) take no value, so the first other word names the command.
  const program = buildProgram(userArgs(argv).find((a) => !a.startsWith("-")));
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (caught) {
    let err = caught;
    if (err instanceof CommanderError) {
      // Help and version "errors" are successful exits.
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
        return ExitCode.OK;
      }
      const name = subcommandOf(program, argv);
      err = usageErrorFrom(err.message, name);
    }
    reportFailure(err, argv);
    return exitCodeFor(err);
  }
}

/** One `kit: error:` line (and at most one hint) on stderr; with --json, also the error document on stdout. */
function reportFailure(err: unknown, argv: readonly string[]): void {
  for (const line of formatError(err, debugEnabled(argv))) printError(line);
  // A command that printed its own document for this outcome (kit store verify's report) has said it all.
  if (wantsJson(argv) && !printedJson()) printJson(errorDocument(err));
}

function userArgs(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  const end = args.indexOf("--");
  return end === -1 ? args : args.slice(0, end);
}

function wantsJson(argv: readonly string[]): boolean {
  return userArgs(argv).includes("--json");
}

/** The subcommand being parsed, for the usage hint; undefined when none was named. */
function subcommandOf(program: Command, argv: readonly string[]): string | undefined {
  const first = userArgs(argv).find((a) => !a.startsWith("-"));
  return program.commands.some((c) => c.name() === first) ? first : undefined;
}
