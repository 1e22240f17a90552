/** Writing to stdout/stderr without losing output when the process exits right after. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function printLine(line: string): void {
  process.stdout.write(line + "\n");
}

export function printError(line: string): void {
  process.stderr.write(line + "\n");
}
