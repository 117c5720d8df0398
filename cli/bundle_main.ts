/**
 * The entry point build.ts bundles (`deno bundle --code-splitting`) and compiles into the released
 * binary. Unlike main.ts it imports the CLI by a literal specifier, so the bundler follows it: the
 * bundle is one small entry chunk plus chunks each command loads when it runs (the AWS SDK, the steps).
 * Bundling turns the CommonJS npm packages (commander, yaml) into plain modules, which saves loading
 * Deno's Node.js module layer at every start (bench/init_bench.ts measures both forms).
 */
import { start } from "./start.ts";

await start(Deno.args, () => import("./program.ts"));
