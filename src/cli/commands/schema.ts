import { kitManifestJsonSchema } from "../../kit/schema.js";
import { printJson } from "../output.js";

export async function run(): Promise<void> {
  printJson(kitManifestJsonSchema());
}
