/**
 * The start of an eksnode process, shared by its two entry points: main.ts (run from source with
 * `deno run`) and cli/bundle_main.ts (what build.ts bundles and compiles). `--version` is answered
 * before anything else is loaded; every other command loads the CLI (cli/program.ts), whose commands
 * load their own modules only when they run.
 */
import type { runCli } from "./program.ts";

/** Runs eksnode with `args` and exits with its code; `loadCli` imports cli/program.ts. */
export async function start(
  args: string[],
  loadCli: () => Promise<{ runCli: typeof runCli }>,
): Promise<never> {
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { versionText } = await import("./version.ts");
    console.log(await versionText());
    Deno.exit(0);
  }
  const cli = await loadCli();
  Deno.exit(await cli.runCli(args));
}
