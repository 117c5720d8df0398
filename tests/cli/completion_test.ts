/**
 * `eksnode completion bash|zsh`: generated from the program, so every command and option is in it; the
 * scripts parse (`bash -n`, `zsh -n`) and the bash one completes commands, options and choices when run.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { buildProgram } from "../../cli/program.ts";
import { commandSpec } from "../../cli/completion.ts";
import { eksnode } from "../support/cli_run.ts";

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const hasBash = await has("bash");
const hasZsh = await has("zsh");
if (!hasZsh) console.warn("completion_test: zsh not installed: the zsh script is not parsed with zsh -n");

async function sh(
  shell: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(shell, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await child.output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

Deno.test("the completion spec holds every command and option of the program", () => {
  const spec = commandSpec(buildProgram());
  const names = spec.commands.map((c) => c.name);
  for (const c of buildProgram().commands) assert.ok(names.includes(c.name()), c.name());
  const ami = spec.commands.find((c) => c.name === "ami")!;
  assert.deepEqual(ami.options.find((o) => o.names.includes("--arch"))?.choices, ["x86_64", "aarch64"]);
  assert.ok(ami.options.some((o) => o.names.includes("--dry-run") && o.value === undefined));
});

Deno.test({
  name: `completion bash: parses (bash -n) and completes commands, options and choices${
    hasBash ? "" : " (skipped: no bash)"
  }`,
  ignore: !hasBash,
  async fn() {
    const r = await eksnode(["completion", "bash"]);
    assert.equal(r.code, 0, r.stderr);
    const dir = await tempDir();
    const file = `${dir}/eksnode.bash`;
    await Deno.writeTextFile(file, r.stdout);
    const syntax = await sh("bash", ["-n", file]);
    assert.equal(syntax.code, 0, syntax.err);
    const complete = (words: string[]) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _eksnode; ` +
      `printf '%s\\n' "\${COMPREPLY[*]}"\n`;
    const script = [
      `source '${file}'`,
      complete(["eksnode", "ca"]),
      complete(["eksnode", "calculate-max-pods", "--pre"]),
      complete(["eksnode", "completion", ""]),
      complete(["eksnode", "ami", "--arch", ""]),
      complete(["eksnode", "ami", "--root", "/tmp", "--output", "j"]),
      complete(["eksnode", "steps", ""]),
      complete(["eksnode", "--ver"]),
    ].join("\n");
    const out = await sh("bash", [], script);
    assert.equal(out.code, 0, out.err);
    assert.deepEqual(out.out.split("\n").slice(0, 7), [
      "calculate-max-pods",
      "--prefix-delegation",
      "bash zsh",
      "x86_64 aarch64",
      "json",
      "ami init",
      "--version",
    ]);
  },
});

Deno.test({
  name: `completion zsh: parses (zsh -n) and defines a function per command${
    hasZsh ? "" : " (skipped: zsh not installed)"
  }`,
  ignore: !hasZsh,
  async fn() {
    const r = await eksnode(["completion", "zsh"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^#compdef eksnode\n/);
    const dir = await tempDir();
    const file = `${dir}/_eksnode`;
    await Deno.writeTextFile(file, r.stdout);
    const syntax = await sh("zsh", ["-n", file]);
    assert.equal(syntax.code, 0, syntax.err);
    const loaded = await sh("zsh", [
      "-f",
      "-c",
      `autoload -U compinit && compinit -u -d '${dir}/zcompdump' && source '${file}' && ` +
      `print -l \${(ok)functions[(I)_eksnode*]} && print "comp=\${_comps[eksnode]}"`,
    ]);
    assert.equal(loaded.code, 0, loaded.err);
    const fns = loaded.out.trim().split("\n");
    for (const c of buildProgram().commands) {
      assert.ok(fns.includes(`_eksnode_${c.name().replaceAll("-", "_")}`), c.name());
    }
    assert.ok(fns.includes("comp=_eksnode"));
  },
});

Deno.test("completion: an unknown shell is a usage error", async () => {
  const r = await eksnode(["completion", "fish"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /value 'fish' is invalid for argument 'shell'/);
});
