#!/usr/bin/env node
import module from "node:module";
import { setFlagsFromString } from "node:v8";

// Node >= 22.1 can keep V8's compiled code between runs; start-up is most of a small command's cost.
module.enableCompileCache?.();

// undici parses HTTP with a WebAssembly build of llhttp. V8 re-compiles it with its optimising tier in the
// background, and a process cannot exit until that job ends: ~200 ms on every registry command, for code
// that only ever parses a few headers. Baseline-compiled wasm is plenty for that.
setFlagsFromString("--liftoff-only");

const { main } = await import("../dist/bundle/main.mjs");

// Exit as soon as the command is done: idle keep-alive sockets would otherwise hold the process open.
// stdout and stderr are synchronous for files and pipes on Linux, so nothing written is lost.
process.exit(await main(process.argv));
