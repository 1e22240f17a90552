#!/usr/bin/env node
import { main } from "../dist/bundle/main.mjs";

// Exit as soon as the command is done: idle keep-alive sockets would otherwise hold the process open.
// stdout and stderr are synchronous for files and pipes on Linux, so nothing written is lost.
process.exit(await main(process.argv));
