/** eksnode: parse argv, run the command, map errors to exit codes. */
import { runCli } from "./cli/program.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
