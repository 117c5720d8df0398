import assert from "node:assert/strict";
import { CommandError, ContainmentError } from "../lib/errors.ts";
import { normalizeInRoot } from "../lib/host.ts";
import { tempHost } from "./helpers.ts";

Deno.test("normalizeInRoot refuses relative paths and .. above the root", () => {
  assert.equal(normalizeInRoot("/etc//eks/./x"), "/etc/eks/x");
  assert.equal(normalizeInRoot("/etc/eks/../kubernetes"), "/etc/kubernetes");
  assert.throws(() => normalizeInRoot("etc/x"), ContainmentError);
  assert.throws(() => normalizeInRoot("/../etc/passwd"), ContainmentError);
  assert.throws(() => normalizeInRoot("/etc/../../x"), /outside the root/);
});

Deno.test("writeFile is atomic: mode set, no temp file left, parent created", async () => {
  const host = await tempHost();
  await host.writeFile("/etc/eks/release", "hello\n", { mode: 0o640 });
  assert.equal(await host.readText("/etc/eks/release"), "hello\n");
  const st = await host.stat("/etc/eks/release");
  assert.equal(st?.mode, 0o640);
  assert.deepEqual(await host.readDir("/etc/eks"), ["release"]);
});

Deno.test("writeFileWith leaves the old file untouched and no temp when filling fails", async () => {
  const host = await tempHost();
  await host.writeFile("/usr/bin/kubelet", "old");
  await assert.rejects(
    host.writeFileWith("/usr/bin/kubelet", async (f) => {
      await f.write(new TextEncoder().encode("half"));
      throw new Error("network died");
    }),
    /network died/,
  );
  assert.equal(await host.readText("/usr/bin/kubelet"), "old");
  assert.deepEqual(await host.readDir("/usr/bin"), ["kubelet"]);
});

Deno.test("a symlink pointing outside the root cannot lead a write or read outside", async () => {
  const host = await tempHost();
  const outside = await Deno.makeTempDir({ prefix: "eksnode-outside-" });
  await Deno.mkdir(`${host.root}/etc`, { recursive: true });
  await Deno.symlink(outside, `${host.root}/etc/eks`);
  await assert.rejects(host.writeFile("/etc/eks/release", "x"), ContainmentError);
  await assert.rejects(host.mkdir("/etc/eks/sub"), ContainmentError);
  await Deno.writeFile(`${outside}/secret`, new TextEncoder().encode("s"));
  await assert.rejects(host.readText("/etc/eks/secret"), ContainmentError);
  assert.deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["secret"]);
  // A file symlink to outside: reading is refused; replacing it writes a regular file in the root.
  await Deno.symlink(`${outside}/secret`, `${host.root}/etc/link`);
  await assert.rejects(host.readText("/etc/link"), ContainmentError);
  await host.writeFile("/etc/link", "inside");
  assert.equal(await Deno.readTextFile(`${outside}/secret`), "s");
  assert.equal((await host.stat("/etc/link"))?.isSymlink, false);
});

Deno.test("a dangling symlink pointing outside is refused", async () => {
  const host = await tempHost();
  await Deno.mkdir(`${host.root}/var`, { recursive: true });
  await Deno.symlink("/nonexistent-eksnode-dir", `${host.root}/var/lib`);
  await assert.rejects(host.writeFile("/var/lib/eksnode/x", "x"), ContainmentError);
});

Deno.test("symlinks that stay inside the root are followed", async () => {
  const host = await tempHost();
  await host.mkdir("/real");
  await Deno.symlink(`${host.root}/real`, `${host.root}/alias`);
  await host.writeFile("/alias/file", "ok");
  assert.equal(await host.readText("/real/file"), "ok");
});

Deno.test("exec captures output; non-zero exit names command and stderr tail", async () => {
  const host = await tempHost();
  const ok = await host.exec(["sh", "-c", "echo out; echo err >&2"]);
  assert.equal(ok.stdout, "out\n");
  assert.equal(ok.stderr, "err\n");
  await assert.rejects(
    host.exec(["sh", "-c", "echo first >&2; echo 'the real reason' >&2; exit 3"]),
    (e: Error) =>
      e instanceof CommandError && /sh -c .* exited with code 3: first \| the real reason/.test(e.message),
  );
  const soft = await host.exec(["false"], { allowFailure: true });
  assert.equal(soft.code, 1);
});

Deno.test("exec: missing command, timeout and redaction", async () => {
  const host = await tempHost();
  await assert.rejects(host.exec(["eksnode-no-such-command"]), /command not found: eksnode-no-such-command/);
  await assert.rejects(host.exec(["sleep", "5"], { timeoutMs: 200 }), /sleep 5 timed out after 0.2s/);
  await assert.rejects(
    host.exec(["sh", "-c", "echo token-SECRET >&2; exit 1", "token-SECRET"], { redact: ["token-SECRET"] }),
    (e: Error) => !e.message.includes("SECRET") && e.message.includes("***"),
  );
});
