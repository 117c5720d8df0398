/** build.ts without a denort runtime stops with one clear message saying how to provide it. */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";

Deno.test("build.ts without DENORT_BIN exits 3 naming DENORT_BIN and the target", async () => {
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  delete env.DENORT_BIN_X86_64;
  delete env.DENORT_BIN_AARCH64;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../build.ts", import.meta.url).pathname,
      "--target",
      "x86_64",
      "--out",
      await tempDir(),
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 3, stderr);
  assert.match(stderr, /no denort runtime for x86_64/);
  assert.match(stderr, /DENORT_BIN=\/path\/to\/denort/);
  assert.match(stderr, /x86_64-unknown-linux-gnu/);
});

Deno.test("build.ts refuses an unknown --target", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../build.ts", import.meta.url).pathname, "--target", "riscv64"],
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--target must be x86_64 or aarch64/);
});
