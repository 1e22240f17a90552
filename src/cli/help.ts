/** `kit help TOPIC` pages that are not commands. */
import { environmentHelp } from "./environment.js";

export const HELP_TOPICS: Readonly<Record<string, () => string>> = {
  environment: environmentHelp,
};
