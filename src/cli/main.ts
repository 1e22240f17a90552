/**
 * The CLI: commander definitions only. Each action loads its command module on
 * demand, so `kit --version` never pays for YAML, zod or HTTP.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { debugEnabled, ExitCode, exitCodeFor, formatError } from "./exit.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Commands report failure by throwing; a command may also return a non-zero exit code. */
type CommandResult = Promise<number | void>;

function lazy<A extends unknown[]>(load: () => Promise<{ run: (...args: A) => CommandResult }>) {
  return async (...args: A): Promise<void> => {
    const mod = await load();
    const code = await mod.run(...args);
    if (typeof code === "number") process.exitCode = code;
  };
}

export function buildProgram(): Command {
  const program = new Command("kit")
    .description("Package Aegis kits as OCI artifacts and move them between registries")
    .version(packageVersion(), "-V, --version", "print the version")
    .addOption(new Option("--debug", "print stack traces on errors (or set KIT_DEBUG=1)"))
    .showHelpAfterError('(run "kit help" for usage)')
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, "kit: error: ")) })
    // Set before subcommands are added so they inherit it: usage errors must exit 2, not commander's 1.
    .exitOverride();

  program
    .command("validate")
    .description("validate a kit directory (containing kit.yaml) or a kit YAML file")
    .argument("[path]", "kit directory or YAML file", ".")
    .option("--json", 'print {"valid", "errors"} as JSON')
    .action(lazy(() => import("./commands/validate.js")));

  program
    .command("init")
    .description("create a commented kit.yaml and README.md (never overwrites)")
    .argument("[dir]", "directory to create the kit in", ".")
    .option("--name <name>", "kit name (default: the directory name)")
    .action(lazy(() => import("./commands/init.js")));

  program
    .command("schema")
    .description("print the JSON Schema of kit.yaml (for editors and yaml-language-server)")
    .action(lazy(() => import("./commands/schema.js")));

  return program;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version "errors" are successful exits; commander already printed the rest.
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
        return ExitCode.OK;
      }
      return ExitCode.USAGE;
    }
    process.stderr.write(formatError(err, debugEnabled(argv)));
    return exitCodeFor(err);
  }
}
