/** Runs the built CLI (dist/, made by `npm run build`) as a real process. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const KIT_BIN = fileURLToPath(new URL("../../bin/kit.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the process was killed for running past `timeoutMs`. */
  timedOut?: boolean;
}

/** `timeoutMs`: kill the process (SIGKILL) if it has not exited by then; `timedOut` then says so. */
export function runKit(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KIT_BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, KIT_DEBUG: "", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
    child.stdin.end(opts.input ?? "");
  });
}
