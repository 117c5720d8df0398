/**
 * The reference in docs/ stays true: its step tables match the step lists, and every CLI flag is documented
 * (ami's in docs/ami.md, init's in docs/init.md or the run flags of docs/ami.md, the operating commands' in
 * docs/commands.md). tests/project/docs_test.ts runs the documented commands.
 */
import assert from "node:assert/strict";
import { AMI_STEPS } from "../../steps/ami/index.ts";
import { INIT_STEPS } from "../../steps/init/index.ts";
import { eksnode } from "../support/cli_run.ts";

const doc = (name: string) => Deno.readTextFile(new URL(`../../docs/${name}`, import.meta.url));
const AMI = await doc("ami.md");
const INIT = await doc("init.md");
const COMMANDS = await doc("commands.md");

/** Table rows `| N | ... | title |` of the section of `text` that starts with `heading`. */
function stepRows(text: string, heading: string): Map<number, string> {
  assert.ok(text.includes(heading), `no section ${heading}`);
  const section = text.slice(text.indexOf(heading));
  const start = section.indexOf("\n|");
  const table = section.slice(start, section.indexOf("\n\n", start));
  const rows = new Map<number, string>();
  for (const line of table.split("\n")) {
    const cells = line.split("|").map((c) => c.trim()).filter(Boolean);
    if (/^\d+$/.test(cells[0] ?? "")) rows.set(Number(cells[0]), cells.at(-1)!);
  }
  return rows;
}

Deno.test("docs/ami.md's step table is `eksnode steps ami`", () => {
  const rows = stepRows(AMI, "## The 37 steps");
  assert.equal(rows.size, 37);
  for (const s of AMI_STEPS) assert.equal(rows.get(s.number), s.title, `step ${s.number}`);
});

Deno.test("docs/init.md's step table is `eksnode steps init`", () => {
  const rows = stepRows(INIT, "## The 9 steps");
  assert.equal(rows.size, 9);
  for (const s of INIT_STEPS) assert.equal(rows.get(s.number), s.title, `step ${s.number}`);
});

Deno.test("every flag in --help of ami and init is in docs/ami.md or docs/init.md", async () => {
  for (const [cmd, text] of [["ami", AMI], ["init", INIT + AMI]]) {
    const help = (await eksnode([cmd, "--help"])).stdout;
    const flags = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]).filter((f) =>
      f !== "--help"
    );
    assert.ok(flags.length > 8, `${cmd} --help lists its flags`);
    for (const f of flags) assert.ok(text.includes(f), `the docs lack ${cmd} ${f}`);
  }
});

Deno.test("every operating command has a docs/commands.md section with an example, and its flags are in the docs", async () => {
  const commands = [
    ["verify"],
    ["calculate-max-pods"],
    ["get-ecr-uri"],
    ["collect-logs"],
    ["config", "check"],
    ["config", "dump"],
    ["pull-image"],
    ["setup-local-disks"],
    ["versions"],
    ["completion"],
  ];
  const ops = COMMANDS;
  for (const cmd of commands) {
    assert.ok(
      ops.includes(`\neksnode ${cmd.join(" ")}`) || ops.includes(`eksnode ${cmd[0]} `),
      `example of ${cmd.join(" ")}`,
    );
    const help = (await eksnode([...cmd, "--help"])).stdout;
    const flags = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]).filter((f) =>
      f !== "--help"
    );
    // Flags shared with init (config sources, bootstrap.sh flags) are documented with init.
    for (const f of flags) {
      assert.ok(COMMANDS.includes(f) || INIT.includes(f), `the docs lack ${cmd.join(" ")} ${f}`);
    }
  }
});
