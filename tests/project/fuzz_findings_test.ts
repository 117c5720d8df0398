/**
 * Regression tests for what the fuzzing (tests/project/fuzz_test.ts) and the crash test found, each reduced
 * to the smallest input that showed it.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { parseBakeConfig } from "../../cli/bake_config.ts";
import { parseBootstrapArgs } from "../../cli/bootstrap_flags.ts";
import { parseUserData } from "../../eks/api/userdata.ts";
import { ConfigError, formatError, oneLine, UsageError } from "../../lib/errors.ts";
import { renderRelease } from "../../steps/ami/33_release_file.ts";
import { releaseManifest } from "./fuzz/targets.ts";

const enc = new TextEncoder();

Deno.test("an error message quoting input is one line: newlines, escapes and bidi overrides are escaped", () => {
  // Found: `bootstrap.sh takes one cluster name, got 2 arguments: a\nExecStart=...` spanned two lines.
  assert.throws(() => parseBootstrapArgs(["a", "b\nerror: forged line"]), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, "bootstrap.sh takes one cluster name, got 2 arguments: a b\\nerror: forged line");
    return true;
  });
  assert.equal(oneLine("a\r\nb\tc\x1b[31m\u202ed\u2028"), "a\\r\\nb\\tc\\u001b[31m\\u202ed\\u2028");
  const shown = formatError(new ConfigError('bad value "x\ny"', "fix\nit"));
  assert.deepEqual(shown.split("\n"), ['error: bad value "x\\ny"', "hint: fix\\nit"]);
  assert.equal(
    formatError(new Error("internal\nsecond")).split("\n")[0],
    "error: internal: internal\\nsecond",
  );
});

Deno.test("a YAML alias used before its anchor is a ConfigError naming the document, not an internal error", async () => {
  // Found: yaml's toJS threw a ReferenceError ("Unresolved alias") out of parseUserData.
  const text = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: *later\nother: &later {}\n";
  await assert.rejects(
    parseUserData(enc.encode(text), "user data"),
    (e: Error) => e instanceof ConfigError && /^invalid YAML in user data: /.test(e.message),
  );
});

Deno.test("YAML warnings about user data are not printed (they quote the document)", async () => {
  // Found: a mapping key that is a collection made the yaml library print the key on stderr.
  const printed: string[] = [];
  const warn = console.warn;
  const emit = process.emitWarning;
  console.warn = (...a: unknown[]) => printed.push(a.join(" "));
  process.emitWarning = ((w: string | Error) => printed.push(String(w))) as typeof process.emitWarning;
  try {
    const text =
      "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  featureGates:\n    ? [secret-token]\n    : true\n";
    await parseUserData(enc.encode(text), "user data").catch(() => {});
  } finally {
    console.warn = warn;
    process.emitWarning = emit;
  }
  assert.deepEqual(printed, []);
});

Deno.test("base_image cannot add a line to /etc/eks/release (read line by line by eksnode init)", () => {
  // Found: base_image = "x\nKUBERNETES_VERSION=9.99" wrote a second KUBERNETES_VERSION line.
  assert.throws(
    () => parseBakeConfig('base_image = "ami-1\\nKUBERNETES_VERSION=9.99"\n', "bake.toml"),
    ConfigError,
  );
  assert.equal(
    parseBakeConfig('base_image = "ami-0123456789abcdef0"\n', "bake.toml").base_image,
    "ami-0123456789abcdef0",
  );
  const manifest = releaseManifest("x\nKUBERNETES_VERSION='9.99'");

  assert.throws(
    () => renderRelease(manifest, "0".repeat(64), {}),
    /BASE_AMI_ID for \/etc\/eks\/release holds a control character/,
  );
});
