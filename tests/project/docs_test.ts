/**
 * Every command shown in README.md and docs/*.md runs as written and gives what the text says it gives.
 * The commands are extracted from fenced `sh` blocks (tests/project/docs_commands.ts says how, and what the
 * `# prints`, `# exits` and not-run tags mean). Each file runs in a sandbox of its own: a working directory
 * holding a copy of deno.json and deno.lock and links to the sources (so `deno task eksnode ...` is the
 * checkout's, and relative paths land in the sandbox), offline: a loopback artifact mirror whose pins are in
 * `bake.toml` of that directory (the bake config the documented bakes name) and the demo's simulated
 * instance metadata service, EKS and EC2 APIs. `eksnode` is `deno run -A main.ts` (what the binary runs),
 * `deno` is this Deno, `npx --yes deno@2.9.6` is this Deno when it is 2.9.6, and every `--root /PATH` but `/`
 * is a directory of the sandbox.
 */
import assert from "node:assert/strict";
import { type DocCommand, extractCommands, NOT_RUN_TAGS, rootsUnder } from "./docs_commands.ts";
import { startDemoCloud } from "../../fakes/demo_cloud.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { tempDir } from "../../fakes/temp.ts";
import { denoCacheEnv } from "../support/deno_cache_env.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

async function docFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const e of Deno.readDir(`${REPO}/docs`)) {
    if (e.name.endsWith(".md")) files.push(`docs/${e.name}`);
  }
  return files.sort();
}

Deno.test("docs commands: the extractor finds commands, continuations, here-documents, outputs and tags", () => {
  const md = [
    "text `eksnode not-a-command` in prose",
    "```sh",
    "# a comment line",
    "eksnode calculate-max-pods --instance-type m5.large   # prints 29",
    "eksnode init my-cluster \\",
    "  --b64-cluster-ca LS0t   # [on a node] with a reason",
    "cat > x.yaml <<'EOF'",
    "a: '# not a comment'",
    "EOF",
    "eksnode config check --config-source file://bad.yaml   # exits 3",
    "```",
    "```toml",
    "eksnode = 'not run'",
    "```",
  ].join("\n");
  const cmds = extractCommands("x.md", md);
  assert.deepEqual(cmds.map((c) => [c.line, c.script, c.prints, c.exits, c.tag]), [
    [4, "eksnode calculate-max-pods --instance-type m5.large", "29", undefined, undefined],
    [5, "eksnode init my-cluster \\\n  --b64-cluster-ca LS0t", undefined, undefined, "[on a node]"],
    [7, "cat > x.yaml <<'EOF'\na: '# not a comment'\nEOF", undefined, undefined, undefined],
    [10, "eksnode config check --config-source file://bad.yaml", undefined, 3, undefined],
  ]);
  assert.throws(() => extractCommands("x.md", "```sh\neksnode x  # [skip me]\n```"), /unknown tag/);
  assert.throws(() => extractCommands("x.md", "```sh\neksnode x\n"), /not closed/);
  assert.deepEqual(rootsUnder("eksnode verify --root /mnt/image --phase ami; eksnode x --root /", "/t"), {
    script: "eksnode verify --root /t/roots/mnt/image --phase ami; eksnode x --root /",
    roots: ["/t/roots/mnt/image"],
  });
});

Deno.test("README is short: at most 200 lines, and links every file of docs/", async () => {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  assert.ok(readme.split("\n").length <= 200, `README has ${readme.split("\n").length} lines`);
  for (const f of await docFiles()) {
    if (f !== "README.md") assert.ok(readme.includes(`](${f})`), `README links ${f}`);
  }
});

/** The bash functions every documented command runs with. */
function prelude(sandbox: string): string {
  return [
    "set -o pipefail",
    `eksnode() { "${Deno.execPath()}" run --allow-all --quiet "${sandbox}/main.ts" "$@"; }`,
    `deno() { "${Deno.execPath()}" "$@"; }`,
    // `npx --yes deno@2.9.6 ARGS` is `deno ARGS` with that Deno, which this one is (checked below).
    `npx() { if [ "$1" = --yes ] && [ "$2" = deno@${Deno.version.deno} ]; then shift 2; deno "$@"; ` +
    `else echo "docs test: npx $* is not this Deno" >&2; return 97; fi; }`,
    `sudo() { echo "docs test: a sudo command needs the tag [on a node]" >&2; return 98; }`,
    "",
  ].join("\n");
}

/** A working directory like the checkout: deno.json and deno.lock copied, the sources linked. */
async function sandboxFor(): Promise<string> {
  const dir = await tempDir({ prefix: "eksnode-docs-" });
  for (const f of ["deno.json", "deno.lock"]) await Deno.copyFile(`${REPO}/${f}`, `${dir}/${f}`);
  for await (const e of Deno.readDir(REPO)) {
    if (e.name.startsWith(".") || ["deno.json", "deno.lock", "dist", "node_modules"].includes(e.name)) {
      continue;
    }
    await Deno.symlink(`${REPO}/${e.name}`, `${dir}/${e.name}`);
  }
  await Deno.mkdir(`${dir}/tmp`);
  await Deno.mkdir(`${dir}/home`);
  return dir;
}

async function runCommand(cmd: DocCommand, sandbox: string, env: Record<string, string>) {
  const { script, roots } = rootsUnder(cmd.script, sandbox);
  for (const r of roots) await Deno.mkdir(r, { recursive: true });
  const out = await new Deno.Command("bash", {
    args: ["-c", prelude(sandbox) + script],
    cwd: sandbox,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name:
    "docs commands: every command of README.md and docs/ runs as written, offline, and prints what is shown",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    assert.equal(Deno.version.deno, "2.9.6", "the docs name Deno 2.9.6 (npx --yes deno@2.9.6)");
    const all: DocCommand[] = [];
    for (const f of await docFiles()) {
      all.push(...extractCommands(f, await Deno.readTextFile(`${REPO}/${f}`)));
    }
    const notRun = all.filter((c) => c.tag !== undefined);
    const run = all.filter((c) => c.tag === undefined);
    const byTag = Object.fromEntries(
      Object.keys(NOT_RUN_TAGS).map((tag) => [tag, notRun.filter((c) => c.tag === tag).length]),
    );
    console.log(`docs: ${all.length} commands, ${run.length} run, not run: ${JSON.stringify(byTag)}`);
    // A tag cannot quietly hide the documentation: most commands run, README's walkthrough included.
    assert.ok(run.length >= 40, `only ${run.length} documented commands run`);
    assert.ok(notRun.length * 2 <= all.length, `${notRun.length} of ${all.length} commands are not run`);
    assert.ok(run.filter((c) => c.file === "README.md").length >= 8, "README's walkthrough runs");
    assert.ok(run.some((c) => c.prints !== undefined), "some outputs are checked");

    const files = [...new Set(run.map((c) => c.file))];
    const mirror = await startMirror({});
    const cloud = startDemoCloud();
    try {
      for (const file of files) {
        await t.step(file, async () => {
          const sandbox = await sandboxFor();
          await Deno.writeTextFile(`${sandbox}/bake.toml`, mirror.bakeToml);
          const env: Record<string, string> = {
            PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
            HOME: `${sandbox}/home`,
            TMPDIR: `${sandbox}/tmp`,
            NO_COLOR: "1",
            SOURCE_DATE_EPOCH: "1767225600",
            ...cloud.env,
          };
          // HOME is the sandbox's: the cache must be named, or each file would fetch every npm package.
          Object.assign(env, denoCacheEnv());
          for (const cmd of run.filter((c) => c.file === file)) {
            const r = await runCommand(cmd, sandbox, env);
            const where = `${cmd.file}:${cmd.line}: ${cmd.script.split("\n")[0]}`;
            assert.equal(r.code, cmd.exits ?? 0, `${where}\nexit ${r.code}\n${r.stderr.slice(-2000)}`);
            if (cmd.prints !== undefined) assert.equal(r.stdout.trim(), cmd.prints, where);
          }
        });
      }
    } finally {
      await Promise.all([mirror.close(), cloud.close()]);
    }
  },
});
