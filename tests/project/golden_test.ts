import assert from "node:assert/strict";
import { compareOrUpdate, lineDiff } from "../support/golden.ts";

Deno.test("lineDiff: changed, added and removed lines with context", () => {
  const table: [string, string, string][] = [
    ["a\nb\nc\n", "a\nx\nc\n", "@@ line 1 @@\n a\n-b\n+x\n c\n "],
    ["a\n", "a\nb\n", "@@ line 1 @@\n a\n+b\n "],
    ["a\nb\n", "b\n", "@@ line 1 @@\n-a\n b\n "],
    ["same\n", "same\n", ""],
  ];
  for (const [expected, actual, diff] of table) {
    assert.equal(lineDiff(expected, actual), diff, JSON.stringify(actual));
  }
});

Deno.test({
  name: "compareOrUpdate: a file without a golden counterpart fails the comparison",
  ignore: Deno.env.get("UPDATE_GOLDEN") === "1", // would write the bogus directory instead
  fn: async () => {
    await assert.rejects(
      compareOrUpdate("no-such-case", { "etc/x": "1\n" }),
      /etc\/x: produced but has no golden file/,
    );
  },
});
