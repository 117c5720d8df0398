/**
 * The start of an eksnode process, shared by its two entry points: main.ts (run from source with
 * `deno run`) and cli/bundle_main.ts (what build.ts bundles and compiles). `--version` is answered
 * before anything else is loaded; every other command loads the CLI (cli/program.ts), whose commands
 * load their own modules only when they run.
 */
import type { runCli } from "./program.ts";

/**
 * The arguments without a leading `--`: `deno task eksnode -- --help` passes the `--` on, and before a
 * command it can only mean "what follows is eksnode's".
 * @example withoutLeadingDashes(["--", "--help"]) // ["--help"]
 */
export function withoutLeadingDashes(args: string[]): string[] {
  return args[0] === "--" ? args.slice(1) : args;
}

/** Runs eksnode with `args` and exits with its code; `loadCli` imports cli/program.ts. */
export async function start(
  argv: string[],
  loadCli: () => Promise<{ runCli: typeof runCli }>,
): Promise<never> {
  const args = withoutLeadingDashes(argv);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { versionText } = await import("./version.ts");
    console.log(await versionText());
    Deno.exit(0);
  }
  const cli = await loadCli();
  Deno.exit(await cli.runCli(args));
}
