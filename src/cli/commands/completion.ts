import type { Command } from "commander";
import { completionScript, type Shell } from "../completion.js";
import { HELP_TOPICS } from "../help.js";

export async function run(shell: Shell, _flags: unknown, command: Command): Promise<void> {
  process.stdout.write(completionScript(command.parent!, shell, Object.keys(HELP_TOPICS)));
}
