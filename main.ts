/**
 * eksnode run from source (`deno run -A main.ts`, `deno task eksnode`): parse argv, run the command, map
 * errors to exit codes (cli/start.ts). The released binary is built from cli/bundle_main.ts (build.ts).
 */
import { start } from "./cli/start.ts";

/**
 * The CLI module, imported by a computed URL: `deno run` loads the module graph of every import it can
 * read statically (dynamic ones too) before main.ts starts, which for the CLI is about 100 modules and
 * the npm packages' metadata (bench/startup_bench.ts: 10 ms of CPU, more than the rest of --version).
 */
export const CLI_MODULE = "./cli/program.ts";

if (import.meta.main) {
  await start(Deno.args, () => import(new URL(CLI_MODULE, import.meta.url).href));
}
