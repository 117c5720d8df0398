/**
 * `eksnode ami` and `eksnode init` on the running system (root /) ask first when a person is at a
 * terminal, unless `--yes`; without a terminal (Packer, cloud-init) they never ask. The terminal check
 * is driven here through EKSNODE_INTERACTIVE.
 */
import assert from "node:assert/strict";
import { askYesNo, isInteractive, mustAsk } from "../../cli/global_flags.ts";
import { MAIN } from "../support/cli_run.ts";

function stream(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
}

Deno.test("mustAsk: only a real run on / from a terminal without --yes", () => {
  const tty = { EKSNODE_INTERACTIVE: "1" };
  const noTty = { EKSNODE_INTERACTIVE: "0" };
  assert.equal(mustAsk({ root: "/" }, tty), true);
  assert.equal(mustAsk({ root: "/", yes: true }, tty), false, "--yes");
  assert.equal(mustAsk({ root: "/", dryRun: true }, tty), false, "a dry run changes nothing");
  assert.equal(mustAsk({ root: "/mnt/image" }, tty), false, "a directory is not the running system");
  assert.equal(mustAsk({ root: "/" }, noTty), false, "Packer and cloud-init have no terminal");
  assert.equal(isInteractive({ EKSNODE_INTERACTIVE: "1" }), true);
  assert.equal(isInteractive({ EKSNODE_INTERACTIVE: "0" }), false);
});

Deno.test("askYesNo: y and yes go on; anything else, an empty line and the end of input do not", async () => {
  const asked: string[] = [];
  const write = (t: string) => void asked.push(t);
  assert.equal(await askYesNo("go? ", stream("y\n"), write), true);
  assert.equal(await askYesNo("go? ", stream("YES\nmore"), write), true);
  assert.equal(await askYesNo("go? ", stream("n\n"), write), false);
  assert.equal(await askYesNo("go? ", stream("\n"), write), false);
  assert.equal(await askYesNo("go? ", stream(""), write), false);
  assert.equal(await askYesNo("go? ", stream("yess\n"), write), false);
  assert.deepEqual(asked, Array(6).fill("go? "));
});

Deno.test("ami on / from a terminal: shows the plan, asks, and a no changes nothing (exit 2)", async () => {
  // Step 21 makes /var/lib/kubelet; this machine must not have it, so that the plan has a change to ask about.
  const made = ["/var/lib/kubelet", "/var/lib/eksnode"];
  for (const p of made) {
    await assert.rejects(Deno.lstat(p), Deno.errors.NotFound, `${p} exists here: the test would not be safe`);
  }
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--quiet", MAIN, "ami", "--only", "21"],
      cwd: "/",
      env: { NO_COLOR: "1", EKSNODE_INTERACTIVE: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("n\n"));
    await w.close();
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stdout + stderr);
    assert.match(stdout, /would dir \/var\/lib\/kubelet 0755 root:root/);
    assert.match(stderr, /will make the 1 change above to the running system\. Go on\? \[y\/N\]/);
    assert.match(stderr, /error: eksnode ami: not confirmed; nothing was changed/);
    assert.match(stderr, /hint: .*--yes/);
  } finally {
    for (const p of made) {
      const there = await Deno.lstat(p).then(() => true, () => false);
      if (there) await Deno.remove(p, { recursive: true });
      assert.equal(there, false, `${p} was made although the answer was no`);
    }
  }
});
