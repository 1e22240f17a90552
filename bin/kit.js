#!/usr/bin/env node
import module from "node:module";
import { setFlagsFromString } from "node:v8";

// Node >= 22.1 can keep V8's compiled code between runs; start-up is most of a small command's cost.
module.enableCompileCache?.();

// undici parses HTTP with a WebAssembly build of llhttp. V8 re-compiles it with its optimising tier in the
// background, and a process cannot exit until that job ends: ~200 ms on every registry command, for code
// that only ever parses a few headers. Baseline-compiled wasm is plenty for that.
setFlagsFromString("--liftoff-only");

// With --debug, stack traces point into src/ rather than the minified bundle. Maps must be enabled before
// the bundle loads, and parsing them costs start-up time, so only then.
if (process.argv.includes("--debug") || process.env.KIT_DEBUG === "1") process.setSourceMapsEnabled(true);

const { main } = await import("../dist/bundle/main.mjs");

// main() returns once stdout and stderr have drained, so exiting now loses nothing; exiting at once matters
// because idle keep-alive sockets would otherwise hold the process open.
process.exit(await main(process.argv));
