/**
 * The entry point build.ts bundles (`deno bundle --code-splitting`, with cli/program.ts as a second
 * entry, written as `program.js` beside this one) and compiles into the released binary. Bundling
 * turns the CommonJS npm packages (commander, yaml) into plain modules, so no start resolves
 * `require()` file by file (bench/init_bench.ts measures both forms).
 *
 * As main.ts does, it imports the CLI by a computed URL: `deno run` would otherwise load every chunk a
 * literal dynamic import reaches (the AWS SDK included) before starting, which made `--version` 2x
 * slower. build.ts passes the bundle directory to `deno compile --include`.
 */
import { start } from "./start.ts";

/** The CLI's chunk, an entry of the bundle: build.ts checks that it exists. */
export const BUNDLED_CLI = "program.js";

if (import.meta.main) {
  await start(
    Deno.args,
    () => import(new URL(`./${BUNDLED_CLI}`, import.meta.url).href) as Promise<typeof import("./program.ts")>,
  );
}
