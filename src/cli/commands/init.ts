import { initKit, type InitOptions } from "../../kit/init.js";
import { printLine } from "../output.js";

export async function run(dir: string, opts: InitOptions): Promise<void> {
  const result = await initKit(dir, opts);
  for (const file of result.files) printLine(`created ${file}`);
  for (const file of result.kept ?? []) printLine(`kept ${file} as it was`);
}
