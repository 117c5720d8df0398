/**
 * The released binary is compiled from the bundle build.ts makes (cli/bundle_main.ts through `deno bundle
 * --code-splitting`), not from main.ts. This test bundles the CLI the same way into a temp directory and
 * runs the CLI tests again with tests/support/cli_run.ts pointed at the bundle (EKSNODE_TEST_MAIN): every command,
 * the golden ami and init trees, bad input, signals and transport rules must behave exactly as from source.
 *
 * By default the test files below run (~40 s); `deno task test:bundle` runs every CLI test file, the
 * slow crash and fault matrices too (EKSNODE_BUNDLE_TESTS=all).
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { bundle } from "../../build.ts";

/** The tests/ directory; test files below are named relative to it. */
const TESTS = new URL("../", import.meta.url).pathname;

/** CLI test files run against the bundle in `deno task test` (the two slowest are left to test:bundle). */
const DEFAULT_FILES = [
  "steps/ami/ami_bake_test.ts",
  "cli/calculate_max_pods_test.ts",
  "cli/cli_test.ts",
  "cli/collect_logs_test.ts",
  "cli/completion_test.ts",
  "cli/config_cmd_test.ts",
  "lib/file_modes_test.ts",
  "cli/get_ecr_uri_test.ts",
  "steps/init/init_golden_test.ts",
  "cli/init_inputs_test.ts",
  "project/injection_test.ts",
  "steps/init/outposts_hosts_test.ts",
  "eks/system/pull_image_test.ts",
  "cli/setup_local_disks_test.ts",
  "lib/signal_test.ts",
  "lib/transport_test.ts",
  "eks/verify/verify_test.ts",
  "cli/versions_cmd_test.ts",
];

/** Every test file that runs the CLI through tests/support/cli_run.ts (the boot test installs main.ts itself). */
async function allCliTestFiles(): Promise<string[]> {
  const names: string[] = [];
  async function walk(rel: string): Promise<void> {
    for await (const e of Deno.readDir(`${TESTS}${rel}`)) {
      if (e.isDirectory) await walk(`${rel}${e.name}/`);
      else if (!e.isFile || !e.name.endsWith("_test.ts") || e.name === "bundle_test.ts") continue;
      else if (
        /from "(\.\.\/)+support\/cli_run\.ts"/.test(await Deno.readTextFile(`${TESTS}${rel}${e.name}`))
      ) {
        names.push(`${rel}${e.name}`);
      }
    }
  }
  await walk("");
  return names.sort();
}

Deno.test("the bundled CLI (what build.ts compiles) passes the CLI tests", async () => {
  const dir = await tempDir({ prefix: "eksnode-bundle-" });
  try {
    const entry = await bundle(`${dir}/bundle`);
    // The bundle is self-contained: no import reaches back into the repository's sources.
    for await (const e of Deno.readDir(`${dir}/bundle`)) {
      const text = await Deno.readTextFile(`${dir}/bundle/${e.name}`);
      assert.doesNotMatch(
        text,
        /from ["']\.\.?\/(cli|lib|eks|steps|assets)\//,
        `${e.name} imports a source file`,
      );
      assert.doesNotMatch(text, /(from|import)\s*\(?\s*["']npm:/, `${e.name} still imports an npm package`);
    }
    const all = Deno.env.get("EKSNODE_BUNDLE_TESTS") === "all";
    const files = all ? await allCliTestFiles() : DEFAULT_FILES;
    const out = await new Deno.Command(Deno.execPath(), {
      // Type checking was done by the run that started this test.
      args: ["test", "--allow-all", "--no-check", "--parallel", ...files.map((f) => `${TESTS}${f}`)],
      env: { EKSNODE_TEST_MAIN: entry, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const summary = text.split("\n").filter((l) => /^(ok|FAILED) \| \d+ passed/.test(l)).pop() ??
      "no summary";
    console.log(`bundle: ${files.length} test files against ${entry}: ${summary}`);
    const failures = text.slice(Math.max(0, text.indexOf(" ERRORS ")));
    assert.equal(out.code, 0, `the bundled CLI failed CLI tests:\n${failures.slice(0, 6000)}`);
    assert.match(summary, /^ok \| [1-9]\d* passed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
