import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { download, extract } from "../../lib/changes.ts";
import { CommandError, ContainmentError } from "../../lib/errors.ts";
import { Host, normalizeInRoot } from "../../lib/host.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { StepContext } from "../../lib/step.ts";
import { makeTar } from "../../fakes/tar_writer.ts";
import { applyContext, fileServer, sha256, tempHost } from "../support/helpers.ts";

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
  const outside = await tempDir({ prefix: "eksnode-outside-" });
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

// ---------------------------------------------------------------------------------------------
// --root containment for every kind of write, through a symlink to "/" and to a directory outside.

for (const to of ["/", "outside"] as const) {
  Deno.test(`a symlink inside the root pointing to ${to === "/" ? "/" : "a directory outside"} redirects no write of any kind`, async () => {
    const host = await tempHost();
    const outside = await tempDir({ prefix: "eksnode-outside-" });
    const target = to === "/" ? "/" : outside;
    await host.mkdir("/etc");
    await Deno.symlink(target, `${host.root}/etc/eks`);
    // A file outside that a redirected write, chmod or remove would touch.
    await Deno.writeTextFile(`${outside}/victim`, "untouched", { mode: 0o600 });
    if (to === "outside") await Deno.writeTextFile(`${outside}/kubelet`, "untouched");
    const tgz = await makeTar([{ name: "x", data: "1" }]);
    const srv = fileServer({ "/kubelet": { body: "bin" }, "/a.tgz": { body: tgz } });
    const ctx: StepContext = { host, log: memoryLogger(), dryRun: false };
    const apply = applyContext(ctx);
    const via = to === "/" ? outside.slice(1) : ""; // the in-root path that reaches `outside` through the link
    const p = (name: string) => (via ? `/etc/eks/${via}/${name}` : `/etc/eks/${name}`);
    const attempts: [string, () => Promise<unknown>][] = [
      ["file", () => host.writeFile(p("victim"), "x")],
      ["streamed file", () => host.writeFileWith(p("victim"), async () => {})],
      ["directory", () => host.mkdir(p("newdir"))],
      ["symlink", () => host.symlink(p("newlink"), "/etc/passwd")],
      ["chmod", () => host.chmodChown(p("victim"), { mode: 0o777 })],
      ["remove", () => host.remove(p("victim"))],
      ["scratch directory", () => host.withScratchBeside(p("victim"), () => Promise.resolve())],
      [
        "download",
        () => download({ url: `${srv.url}/kubelet`, sha256: sha256("bin") }, p("kubelet")).apply(apply),
      ],
      [
        "extract",
        () => extract({ url: `${srv.url}/a.tgz`, sha256: sha256(tgz) }, p("unpacked")).apply(apply),
      ],
      ["read", () => host.readText(p("victim"))],
    ];
    try {
      for (const [kind, attempt] of attempts) {
        await assert.rejects(attempt(), ContainmentError, `${kind} through /etc/eks -> ${target}`);
      }
      assert.equal(await Deno.readTextFile(`${outside}/victim`), "untouched");
      assert.equal((await Deno.stat(`${outside}/victim`)).mode! & 0o777, 0o600);
      assert.deepEqual(
        [...Deno.readDirSync(outside)].map((e) => e.name).sort(),
        to === "outside" ? ["kubelet", "victim"] : ["victim"],
      );
    } finally {
      await srv.close();
    }
  });
}

Deno.test("the last component may be a symlink to outside: writes replace the link, chmod refuses, remove drops only the link", async () => {
  const host = await tempHost();
  const outside = await tempDir({ prefix: "eksnode-outside-" });
  await Deno.writeTextFile(`${outside}/secret`, "s", { mode: 0o600 });
  await host.mkdir("/etc");
  await Deno.symlink(`${outside}/secret`, `${host.root}/etc/a`);
  await Deno.symlink(`${outside}/secret`, `${host.root}/etc/b`);
  await assert.rejects(host.chmodChown("/etc/a", { mode: 0o644 }), ContainmentError);
  await host.remove("/etc/a");
  assert.equal(await host.exists("/etc/a"), false);
  await host.symlink("/etc/b", "/etc/hostname");
  assert.equal(await host.readLink("/etc/b"), "/etc/hostname");
  assert.equal(await Deno.readTextFile(`${outside}/secret`), "s");
  assert.equal((await Deno.stat(`${outside}/secret`)).mode! & 0o777, 0o600);
});

Deno.test("temps a killed run left beside a target (file, symlink, scratch dir) are swept by its next write", async () => {
  const host = await tempHost();
  await host.mkdir("/etc/eks");
  const dir = `${host.root}/etc/eks`;
  await Deno.writeTextFile(`${dir}/.release.eksnode-0123abcd.tmp`, "half");
  await Deno.symlink("/nowhere", `${dir}/.release.eksnode-89abcdef.tmp`);
  await Deno.mkdir(`${dir}/.release.eksnode-deadbeef.tmp`);
  await Deno.writeTextFile(`${dir}/.release.eksnode-deadbeef.tmp/release`, "candidate");
  // Not ours: another file's temp, and a name that only looks alike.
  await Deno.writeTextFile(`${dir}/.other.eksnode-0123abcd.tmp`, "x");
  await Deno.writeTextFile(`${dir}/.release.eksnode-notours.tmp`, "x");
  await host.writeFile("/etc/eks/release", "ok\n");
  assert.deepEqual(await host.readDir("/etc/eks"), [
    ".other.eksnode-0123abcd.tmp",
    ".release.eksnode-notours.tmp",
    "release",
  ]);
});

Deno.test("a new directory appears with its final mode at once, whatever the umask", async () => {
  const host = await tempHost();
  const old = Deno.umask(0o077);
  try {
    await host.mkdir("/a/b/c", { mode: 0o750 });
  } finally {
    Deno.umask(old);
  }
  assert.equal((await host.stat("/a"))?.mode, 0o755);
  assert.equal((await host.stat("/a/b"))?.mode, 0o755);
  assert.equal((await host.stat("/a/b/c"))?.mode, 0o750);
  assert.deepEqual(await host.readDir("/a/b"), ["c"], "no temp directory left");
});

Deno.test("parallel writes creating the same parent make it once (a kill cannot strand a second temp dir)", async () => {
  const dir = await tempDir({ prefix: "eksnode-test-" });
  const log = `${dir}/points.log`;
  // The crash hook's log (lib/host.ts crashPoint) lists every temp directory made.
  const host = await Host.open(`${dir}/root`, { EKSNODE_TEST_CRASH_LOG: log });
  await Promise.all(Array.from({ length: 8 }, (_, i) => host.writeFile(`/var/cache/eksnode/f${i}`, `${i}`)));
  const made = (await Deno.readTextFile(log)).split("\n").filter((l) => / mkdir-temp /.test(l));
  assert.deepEqual(made.map((l) => l.replace(/^\d+ /, "")), [
    "mkdir-temp /var",
    "mkdir-temp /var/cache",
    "mkdir-temp /var/cache/eksnode",
  ]);
  assert.deepEqual(await host.readDir("/var/cache"), ["eksnode"]);
  assert.equal((await host.readDir("/var/cache/eksnode"))?.length, 8);
});

Deno.test("exec runs tools in the C locale whatever the node's, so their messages read the same everywhere", async () => {
  const host = await tempHost();
  const saved = Deno.env.get("LC_ALL");
  Deno.env.set("LC_ALL", "tr_TR.UTF-8");
  try {
    const r = await host.exec(["sh", "-c", 'printf %s "$LC_ALL"']);
    assert.equal(r.stdout, "C");
    // A caller that needs another locale still says so.
    const own = await host.exec(["sh", "-c", 'printf %s "$LC_ALL"'], { env: { LC_ALL: "C.UTF-8" } });
    assert.equal(own.stdout, "C.UTF-8");
    // A tool's own message, through a missing file: English, as eksnode's parsers expect.
    const ls = await host.exec(["ls", "/nonexistent-eksnode-path"]).catch((e: Error) => e);
    assert.ok(ls instanceof CommandError);
    assert.match(ls.message, /No such file or directory/);
  } finally {
    if (saved === undefined) Deno.env.delete("LC_ALL");
    else Deno.env.set("LC_ALL", saved);
    await Deno.remove(host.root, { recursive: true });
  }
});
