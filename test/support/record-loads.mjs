// `node --import <this file>`: every module URL the process loads is appended, one a line, to $KIT_LOAD_LOG.
// Lets a test see which bundle chunks a command reads (a chunk never loaded costs nothing at start-up).
import { register } from "node:module";

register("./record-loads-hooks.mjs", import.meta.url, { data: { log: process.env.KIT_LOAD_LOG } });
