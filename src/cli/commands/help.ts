import type { Command } from "commander";
import { UsageError } from "../../oras/errors.js";
import { HELP_TOPICS } from "../help.js";

/** `kit help [COMMAND|TOPIC]`; anything else is a usage error (exit 2), not the general help. */
export async function run(topic: string | undefined, _flags: unknown, command: Command): Promise<void> {
  const program = command.parent!;
  if (topic === undefined) {
    program.outputHelp();
    return;
  }
  const sub = program.commands.find((c) => c.name() === topic || c.aliases().includes(topic));
  if (sub) {
    sub.outputHelp();
    return;
  }
  const page = Object.hasOwn(HELP_TOPICS, topic) ? HELP_TOPICS[topic] : undefined;
  if (page) {
    process.stdout.write(page());
    return;
  }
  throw new UsageError(`no command or help topic "${topic}"`, {
    hint: `run "kit help" for the commands; topics: ${Object.keys(HELP_TOPICS).join(", ")}`,
  });
}
