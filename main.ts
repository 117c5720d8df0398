/**
 * eksnode: parse argv, run the command, map errors to exit codes. `--version` is answered before
 * anything else is loaded; every other command loads the CLI (cli/program.ts), whose commands load
 * their own modules only when they run.
 */

/**
 * The CLI module, imported by a computed URL: `deno run` loads the module graph of every import it can
 * read statically (dynamic ones too) before main.ts starts, which for the CLI is about 100 modules and
 * the npm packages' metadata (bench/startup_bench.ts: 10 ms of CPU, more than the rest of --version).
 * build.ts passes it to `deno compile --include`, which is how a compiled binary gets such a module.
 */
export const CLI_MODULE = "./cli/program.ts";

if (import.meta.main) {
  const args = Deno.args;
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { versionText } = await import("./lib/version.ts");
    console.log(await versionText());
    Deno.exit(0);
  }
  const { runCli }: typeof import("./cli/program.ts") = await import(
    new URL(CLI_MODULE, import.meta.url).href
  );
  Deno.exit(await runCli(args));
}
