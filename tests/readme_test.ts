/** README stays true: its step tables match the step lists, and every CLI flag is documented. */
import assert from "node:assert/strict";
import { AMI_STEPS } from "../steps/ami/index.ts";
import { INIT_STEPS } from "../steps/init/index.ts";
import { eksnode } from "./cli_run.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** Table rows `| N | ... | title |` of the section that starts with `heading`. */
function stepRows(heading: string): Map<number, string> {
  const section = README.slice(README.indexOf(heading));
  const start = section.indexOf("\n|");
  const table = section.slice(start, section.indexOf("\n\n", start));
  const rows = new Map<number, string>();
  for (const line of table.split("\n")) {
    const cells = line.split("|").map((c) => c.trim()).filter(Boolean);
    if (/^\d+$/.test(cells[0] ?? "")) rows.set(Number(cells[0]), cells.at(-1)!);
  }
  return rows;
}

Deno.test("README's ami step table is `eksnode steps ami`", () => {
  const rows = stepRows("### The 37 steps");
  assert.equal(rows.size, 37);
  for (const s of AMI_STEPS) assert.equal(rows.get(s.number), s.title, `step ${s.number}`);
});

Deno.test("README's init step table is `eksnode steps init`", () => {
  const rows = stepRows("### The 9 steps");
  assert.equal(rows.size, 9);
  for (const s of INIT_STEPS) assert.equal(rows.get(s.number), s.title, `step ${s.number}`);
});

Deno.test("every flag in --help of ami and init is in README", async () => {
  for (const cmd of ["ami", "init"]) {
    const help = (await eksnode([cmd, "--help"])).stdout;
    const flags = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]).filter((f) =>
      f !== "--help"
    );
    assert.ok(flags.length > 8, `${cmd} --help lists its flags`);
    for (const f of flags) assert.ok(README.includes(f), `README lacks ${cmd} ${f}`);
  }
});

Deno.test("every operating command has a README section with an example, and its flags are in README", async () => {
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
  const ops = README.slice(README.indexOf("## Operating commands"), README.indexOf("## Development"));
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
    for (const f of flags) assert.ok(README.includes(f), `README lacks ${cmd.join(" ")} ${f}`);
  }
});
