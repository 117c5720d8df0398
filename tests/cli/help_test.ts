/**
 * Every command's help, as a newcomer reads it when stdout is not a terminal: no line over 80 columns,
 * an Examples section, and examples that name only commands and flags that exist.
 */
import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../../cli/program.ts";
import { wrapText } from "../../cli/help.ts";
import { eksnode } from "../support/cli_run.ts";

type AnyCommand = Command<unknown[], Record<string, unknown>>;

/** Every command path: [], ["ami"], ["config", "check"], ... (commander's own `help` left out). */
function commandPaths(cmd: AnyCommand, path: string[] = []): string[][] {
  return [
    path,
    ...cmd.commands.filter((c) => c.name() !== "help").flatMap((c) =>
      commandPaths(c as unknown as AnyCommand, [...path, c.name()])
    ),
  ];
}

function find(path: readonly string[]): AnyCommand {
  let cmd = buildProgram() as unknown as AnyCommand;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name) as unknown as AnyCommand;
  return cmd;
}

/** The example command lines of a help text (continuation lines joined). */
function exampleCommands(help: string): string[] {
  const section = help.split("\nExamples:\n")[1] ?? "";
  const out: string[] = [];
  let cur = "";
  for (const raw of section.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    cur += line.replace(/\\$/, "").trimEnd() + " ";
    if (!line.endsWith("\\")) {
      out.push(cur.trim());
      cur = "";
    }
  }
  return out;
}

Deno.test("help of every command: at most 80 columns when not a terminal, an Examples section, examples that exist", async () => {
  const paths = commandPaths(buildProgram() as unknown as AnyCommand);
  assert.ok(paths.length >= 15, `${paths.length} commands`);
  for (const path of paths) {
    const r = await eksnode([...path, "--help"]);
    const name = ["eksnode", ...path].join(" ");
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    for (const line of r.stdout.split("\n")) {
      assert.ok([...line].length <= 80, `${name} --help: ${[...line].length} columns: ${line}`);
    }
    const commands = exampleCommands(r.stdout);
    assert.ok(commands.length > 0, `${name} --help has an Examples section:\n${r.stdout}`);
    for (const example of commands) {
      const words = example.replace(/^sudo /, "").split(/\s+/);
      if (words[0] === "deno") {
        assert.match(example, /^deno task [a-z-]+ -- /, example);
        continue;
      }
      assert.equal(words[0], "eksnode", example);
      // The command it names, and each --flag an option of it (or of bootstrap.sh's).
      let cmd = find([]);
      let i = 1;
      for (; i < words.length; i++) {
        const sub = cmd.commands.find((c) => c.name() === words[i]);
        if (!sub) break;
        cmd = sub as unknown as AnyCommand;
      }
      const longs = new Set(cmd.options.map((o) => o.long));
      for (const w of words.slice(i).filter((w) => w.startsWith("--"))) {
        assert.ok(longs.has(w.split("=")[0]), `${example}: ${w} is not an option of ${cmd.name()}`);
      }
    }
  }
});

Deno.test("help names the package manager default and each command's own step numbers", async () => {
  const ami = await eksnode(["ami", "--help"]);
  assert.match(
    ami.stdout.replace(/\s+/g, " "),
    /--package-manager <pm> package manager of the base image \(default: dnf/,
  );
  const init = await eksnode(["init", "--help"]);
  assert.doesNotMatch(init.stdout, /22,29/, "init has 9 steps");
  assert.match(init.stdout.replace(/\s+/g, " "), /--only <steps> run only these step numbers, e\.g\. 5,7/);
});

Deno.test("wrapText wraps paragraphs at spaces and keeps indented lines", () => {
  assert.equal(wrapText("aaa bbb ccc", 7), "aaa bbb\nccc");
  assert.equal(wrapText("  aaa bbb ccc", 7), "  aaa bbb ccc");
  assert.equal(wrapText("short", 80), "short");
});
