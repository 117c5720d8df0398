/**
 * nodeadm's e2e suite (awslabs/amazon-eks-ami nodeadm/test/e2e at 81fec2e8, copied into
 * tests/e2e/nodeadm/cases/) run through the real CLI: one Deno test a case (spec.ts says what each run
 * asks and what must hold; runner.ts runs it; checks.ts compares what the daemons would see). Cases in
 * tests/e2e/nodeadm/status.ts's KNOWN_FAILING are ignored unless `NODEADM_E2E_ALL=1`; the last test
 * prints "nodeadm e2e: X/Y applicable pass". docs/nodeadm-compat.md has the table.
 */
import { CASES } from "./nodeadm/spec.ts";
import assert from "node:assert/strict";
import { CASES_DIR, runCase } from "./nodeadm/runner.ts";
import { KNOWN_FAILING, NOT_APPLICABLE } from "./nodeadm/status.ts";
import { caseTable, countLine, replaceBlock, replaceCount, tableInsensitive } from "./nodeadm/doc.ts";

const ALL = Deno.env.get("NODEADM_E2E_ALL") === "1";
const passed = new Set<string>();
const failed = new Set<string>();

for (const c of CASES) {
  Deno.test({
    name: `nodeadm e2e: ${c.name}`,
    ignore: !ALL && c.name in KNOWN_FAILING,
    // The CLI's own servers and child processes are closed by runCase; Deno's sanitizers would also
    // count the loopback fakes' keep-alive connections closing a tick later.
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      try {
        const r = await runCase(c);
        if (r.caught !== r.checks) throw new Error(`${r.checks - r.caught} checks could not fail`);
        passed.add(c.name);
      } catch (err) {
        failed.add(c.name);
        throw err;
      }
    },
  });
}

Deno.test("nodeadm e2e: summary", () => {
  const applicable = CASES.length;
  const lines = [
    `nodeadm e2e: ${passed.size}/${applicable} applicable pass` +
    ` (${Object.keys(NOT_APPLICABLE).length} not applicable)`,
  ];
  for (const c of CASES) {
    if (passed.has(c.name)) continue;
    const why = failed.has(c.name)
      ? "FAILED"
      : c.name in KNOWN_FAILING
      ? `known failing: ${KNOWN_FAILING[c.name]}`
      : "not run (filtered out)";
    lines.push(`  ${c.name}: ${why}`);
  }
  for (const [name, why] of Object.entries(NOT_APPLICABLE)) lines.push(`  ${name}: not applicable: ${why}`);
  console.log(lines.join("\n"));
});

Deno.test("nodeadm e2e: README shows the count and names the cases that cannot apply", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  assert.ok(readme.includes(countLine()), `README.md lacks "${countLine()}"`);
  for (const name of Object.keys(NOT_APPLICABLE)) {
    assert.ok(readme.includes(`\`${name}\``), `README.md does not name the case ${name}, which cannot apply`);
  }
});

Deno.test("nodeadm e2e: docs/nodeadm-compat.md and docs/init.md show every case's status", async () => {
  const docPath = new URL("../../docs/nodeadm-compat.md", import.meta.url);
  const readmePath = new URL("../../docs/init.md", import.meta.url);
  const doc = await Deno.readTextFile(docPath);
  const readme = await Deno.readTextFile(readmePath);
  const wantDoc = replaceBlock(doc, caseTable());
  const wantReadme = replaceCount(readme);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.writeTextFile(docPath, wantDoc);
    await Deno.writeTextFile(readmePath, wantReadme);
    // The table as `deno fmt` lays it out, so the formatter and this test agree.
    const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", docPath.pathname] })
      .output();
    if (!fmt.success) throw new Error(`deno fmt ${docPath.pathname} failed`);
    return;
  }
  const stale = "stale after a change to tests/e2e/nodeadm/spec.ts or status.ts: run " +
    "`UPDATE_GOLDEN=1 deno test -A tests/e2e/nodeadm_e2e_test.ts`";
  if (tableInsensitive(doc) !== tableInsensitive(wantDoc)) {
    throw new Error(`docs/nodeadm-compat.md's case table is ${stale}`);
  }
  if (!readme.includes(countLine()) || readme !== wantReadme) {
    throw new Error(`docs/init.md's "${countLine()}" line is ${stale}`);
  }
});

Deno.test("nodeadm e2e: every copied case has a spec, every list names real cases, every file named exists", async () => {
  const dirs: string[] = [];
  for await (const e of Deno.readDir(CASES_DIR)) if (e.isDirectory) dirs.push(e.name);
  assert.deepEqual(dirs.sort(), CASES.map((c) => c.name).sort());
  for (const name of Object.keys(KNOWN_FAILING)) assert.ok(CASES.some((c) => c.name === name), name);
  for (const name of Object.keys(NOT_APPLICABLE)) assert.ok(!CASES.some((c) => c.name === name), name);
  for (const c of CASES) {
    const named = [
      c.imds?.config,
      ...c.runs.flatMap((r) => [
        ...(r.sources ?? []).filter((s) => !s.includes("://") && !s.startsWith("root:")),
        ...Object.values(r.copy ?? {}),
        ...(r.expect ?? []).flatMap((e) =>
          Object.values(e).filter((v): v is string => typeof v === "string" && v !== e.kind)
        ),
      ]),
    ].filter((f): f is string =>
      f !== undefined && !f.startsWith("/") && /\.(ya?ml|json|toml|conf|log)$/.test(f)
    );
    for (const f of named) await Deno.stat(`${CASES_DIR}/${c.name}/${f}`);
  }
});
