import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { versionsDigest } from "../../assets/versions.ts";
import { eksnode } from "../support/cli_run.ts";

Deno.test("--help lists every command and the exit codes", async () => {
  const r = await eksnode(["--help"]);
  assert.equal(r.code, 0);
  for (
    const cmd of [
      "ami",
      "init",
      "steps",
      "verify",
      "collect-logs",
      "calculate-max-pods",
      "get-ecr-uri",
      "versions",
      "pull-image",
      "config",
      "completion",
    ]
  ) {
    assert.match(r.stdout, new RegExp(`\\n  ${cmd}\\b`));
  }
  assert.match(r.stdout, /Exit codes:/);
  assert.match(r.stdout, /AWS_EC2_METADATA_SERVICE_ENDPOINT/);
});

Deno.test("ami --help and init --help list their flags", async () => {
  const ami = await eksnode(["ami", "--help"]);
  for (
    const f of [
      "--root",
      "--dry-run",
      "--only",
      "--skip",
      "--from",
      "--output",
      "--kubernetes-version",
      "--mirror",
      "--config",
      "--package-manager",
      "--self",
    ]
  ) {
    assert.ok(ami.stdout.includes(f), `ami --help lacks ${f}`);
  }
  const init = await eksnode(["init", "--help"]);
  for (
    const f of [
      "--root",
      "--dry-run",
      "--config-source",
      "--apiserver-endpoint",
      "--b64-cluster-ca",
      "--kubelet-extra-args",
      "--use-max-pods",
    ]
  ) {
    assert.ok(init.stdout.includes(f), `init --help lacks ${f}`);
  }
});

Deno.test("--version names version, commit, Deno and the embedded versions.json digest", async () => {
  const r = await eksnode(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^eksnode \d+\.\d+\.\d+\ncommit \S+\ndeno 2\.9\.6/);
  assert.ok(r.stdout.includes(`versions.json sha256 ${versionsDigest()}`));
});

Deno.test("steps lists the 37 ami and 9 init steps, from any working directory", async () => {
  const tmp = await tempDir();
  const r = await eksnode(["steps"], { cwd: tmp });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /eksnode ami: 37 steps/);
  assert.match(r.stdout, /eksnode init: 9 steps/);
  assert.match(r.stdout, /22\. Install kubelet \(checksum-verified\)/);
  const ami = await eksnode(["steps", "ami"]);
  assert.doesNotMatch(ami.stdout, /eksnode init: 9 steps/);
});

Deno.test("bad flags: one error line, exit 2, no stack trace, no root left behind", async () => {
  // A root that does not exist yet: a command failing on its flags must not leave it made.
  const root = `${await tempDir()}/not-made`;
  for (
    const [args, pattern] of [
      [["--bogus"], /unknown option '--bogus'/],
      [["ami", "--only", "99", "--dry-run", "--root", root], /--only: there is no step 99/],
      [["ami", "--only", "1", "--skip", "2", "--root", root], /--only cannot be combined/],
      // Each command's hint shows its own steps (and init's --skip its phases), not ami's.
      [
        ["ami", "--skip", "x", "--root", root],
        /--skip: "x" is not a step number.*\nhint: use e\.g\. --skip 22,29 or 1-7\n/,
      ],
      [
        ["init", "--skip", "bogus", "--root", root],
        /--skip: "bogus" is not a step number.*\nhint: use e\.g\. --skip run,7 or --skip 1-8 \(step numbers, or the phases config and run\)\n/,
      ],
      [["init", "--only", "x", "--root", root], /hint: use e\.g\. --only 5,7 or 1-8\n/],
      [["ami", "--root", "relative/dir"], /--root must be an absolute path/],
      [["ami", "--output", "xml"], /argument 'xml' is invalid/],
      [["ami", "--log-format", "xml"], /argument 'xml' is invalid/],
    ] as [string[], RegExp][]
  ) {
    const r = await eksnode(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace without --debug");
    await assert.rejects(Deno.lstat(root), Deno.errors.NotFound, `${args.join(" ")} left ${root}`);
  }
});

Deno.test("--debug shows the stack of an error; the root it made is removed again", async () => {
  const root = `${await tempDir()}/not-made`;
  const r = await eksnode(["ami", "--config", "/nonexistent/bake.toml", "--root", root, "--debug"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: --config \/nonexistent\/bake.toml: cannot read it/);
  assert.match(r.stderr, /\n\s+at /);
  await assert.rejects(Deno.lstat(root), Deno.errors.NotFound);
});

Deno.test("bad bake config: exit 3 naming the file and key", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/bake.toml`, 'package_manager = "pacman"\n');
  const r = await eksnode(["ami", "--config", `${dir}/bake.toml`, "--root", `${dir}/root`, "--dry-run"]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, new RegExp(`${dir}/bake.toml: package_manager`));
  await Deno.writeTextFile(`${dir}/bake.toml`, '[versions.artifacts.runc.sha256]\nx86_64 = "nothex"\n');
  const r2 = await eksnode(["ami", "--config", `${dir}/bake.toml`, "--root", `${dir}/root`, "--dry-run"]);
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /artifacts\.runc\.sha256\.x86_64/);
});

Deno.test("a leading -- (deno task eksnode -- ...) is dropped: help and commands run as written", async () => {
  const help = await eksnode(["--", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: eksnode/);
  const pods = await eksnode(["--", "calculate-max-pods", "--instance-type", "m5.large"]);
  assert.equal(pods.code, 0, pods.stderr);
  assert.equal(pods.stdout.trim(), "29");
  const version = await eksnode(["--", "--version"]);
  assert.equal(version.code, 0, version.stderr);
});

Deno.test("--output json: a failed run's error is a JSON record too (event run.error, exit code, hint)", async () => {
  const root = `${await tempDir()}/not-made`;
  const r = await eksnode(["ami", "--only", "99", "--dry-run", "--root", root, "--output", "json"]);
  assert.equal(r.code, 2);
  const last = JSON.parse(r.stderr.trim().split("\n").at(-1)!);
  assert.equal(last.event, "run.error");
  assert.equal(last.level, "error");
  assert.equal(last.exitCode, 2);
  assert.match(last.msg, /--only: there is no step 99/);
});

Deno.test("--log-format is a hidden old name of --output: it works and warns", async () => {
  const root = `${await tempDir()}/r`;
  const r = await eksnode([
    "init",
    "--dry-run",
    "--root",
    root,
    "--log-format",
    "json",
    "--only",
    "8",
    "my-cluster",
  ]);
  const lines = r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.event === "flag.renamed" && l.flag === "--log-format"), r.stdout + r.stderr);
  const help = await eksnode(["init", "--help"]);
  assert.doesNotMatch(help.stdout, /--log-format/);
  assert.match(help.stdout, /--output <format>/);
});
