/**
 * `eksnode collect-logs` through the real CLI: on the running system (read only) it gathers the system
 * facts whose tools exist here; `--output json`; and the eks-log-collector.sh shim of ami step 37
 * runs it with its arguments.
 */
import { collectLogsOptions } from "../../cli/collect_logs.ts";
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { FACT_COMMANDS } from "../../eks/system/log_bundle.ts";
import { readTar } from "../../lib/tar.ts";
import { renderLogCollectorShim } from "../../steps/ami/37_log_collector.ts";
import { eksnode, MAIN } from "../support/cli_run.ts";
import { onPath } from "../support/helpers.ts";

async function archiveFiles(path: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const fh = await Deno.open(path);
  for await (const e of readTar(fh.readable, { gzip: true, archive: path })) {
    if (e.type === "file") files.set(e.name, new TextDecoder().decode(e.data));
  }
  return files;
}

Deno.test("collect-logs on the running system: facts from the tools that exist here, JSON summary, progress on stderr", async () => {
  const dir = await tempDir({ prefix: "eksnode-logs-" });
  try {
    const r = await eksnode(["collect-logs", "--archive", `${dir}/logs.tar.gz`, "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.archive, `${dir}/logs.tar.gz`);
    assert.equal(((await Deno.stat(report.archive)).mode ?? 0) & 0o777, 0o600);
    const files = await archiveFiles(report.archive);
    assert.equal(report.bytes, (await Deno.stat(report.archive)).size);
    let checked = 0;
    for (const c of FACT_COMMANDS) {
      const shown = c.argv.join(" ");
      assert.match(
        r.stderr,
        new RegExp(`^\\[\\d+/\\d+\\] ${shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"),
      );
      if (!onPath(c.argv[0])) {
        assert.ok(report.skipped.includes(`${shown}: ${c.argv[0]} not found`), shown);
        continue;
      }
      // Present in the archive, or skipped with the reason (a tool may fail in a container).
      const inArchive = files.has(`eksnode-logs/${c.name}`);
      const skippedLine = report.skipped.find((s: string) => s.startsWith(`${shown}: exited`));
      assert.ok(inArchive || skippedLine, `${shown}: neither collected nor skipped with a reason`);
      if (inArchive) checked++;
    }
    assert.ok(checked > 0, "at least one system fact collected");
    if (onPath("uname")) assert.match(files.get("eksnode-logs/system/uname.txt")!, /Linux/);
    assert.match(files.get("eksnode-logs/system/mounts.txt") ?? "", / \/ /);
    assert.match(files.get("eksnode-logs/COLLECTED.txt")!, /^eksnode collect-logs .*, root \/$/m);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("the eks-log-collector.sh shim of ami step 37 runs collect-logs with its arguments", async () => {
  const dir = await tempDir({ prefix: "eksnode-shim-" });
  try {
    // Stands in for /usr/bin/eksnode: the real CLI under deno.
    await Deno.writeTextFile(
      `${dir}/eksnode`,
      `#!/bin/sh\nexec '${Deno.execPath()}' run --allow-all --quiet '${MAIN}' "$@"\n`,
      { mode: 0o755 },
    );
    await Deno.writeTextFile(`${dir}/eks-log-collector.sh`, renderLogCollectorShim(`${dir}/eksnode`), {
      mode: 0o755,
    });
    const root = `${dir}/root`;
    await Deno.mkdir(`${root}/etc/eks`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc/eks/release`, "KUBERNETES_VERSION='1.32.3'\n");
    const out = await new Deno.Command("sh", {
      args: [`${dir}/eks-log-collector.sh`, "--root", root, "--output", `${dir}/out.tar.gz`],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(new TextDecoder().decode(out.stdout), /^wrote .*out\.tar\.gz: /);
    const files = await archiveFiles(`${dir}/out.tar.gz`);
    assert.equal(files.get("eksnode-logs/etc/eks/release"), "KUBERNETES_VERSION='1.32.3'\n");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("collect-logs: --output is the format as in every command; the old spellings still work and warn", () => {
  const warnings: string[] = [];
  const warn = (l: string) => warnings.push(l);
  assert.deepEqual(collectLogsOptions({ root: "/", archive: "/tmp/a.tgz", output: "json" }, warn), {
    root: "/",
    output: "/tmp/a.tgz",
    outputFormat: "json",
  });
  assert.deepEqual(warnings, []);
  // The old `--output FILE` (the step-37 shim's spelling) and `--output-format FORMAT`.
  assert.deepEqual(collectLogsOptions({ root: "/", output: "/tmp/b.tgz", outputFormat: "json" }, warn), {
    root: "/",
    output: "/tmp/b.tgz",
    outputFormat: "json",
  });
  assert.equal(warnings.length, 2);
  assert.match(warnings.join("\n"), /--output-format is an old name of --output/);
  assert.match(warnings.join("\n"), /--output FILE is an old name of --archive FILE/);
  assert.throws(
    () => collectLogsOptions({ root: "/", archive: "/tmp/a.tgz", output: "yaml" }, warn),
    /--output: "yaml" is not text or json/,
  );
});
