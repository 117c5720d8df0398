/**
 * eksnode: parse argv, run the command, map errors to exit codes. `--version` is answered before
 * anything else is loaded; every other command loads the CLI (cli/program.ts), whose commands load
 * their own modules only when they run.
 */
if (import.meta.main) {
  const args = Deno.args;
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const { versionText } = await import("./lib/version.ts");
    console.log(await versionText());
    Deno.exit(0);
  }
  const { runCli } = await import("./cli/program.ts");
  Deno.exit(await runCli(args));
}
