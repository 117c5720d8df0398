import assert from "node:assert/strict";
import { extract } from "../lib/changes.ts";
import { ContainmentError } from "../lib/errors.ts";
import { readTar } from "../lib/tar.ts";
import { makeTar, type TarInput } from "./fakes/tar_writer.ts";
import { applyContext, fileServer, sha256, tempContext } from "./helpers.ts";

async function entries(list: TarInput[]) {
  const out = [];
  for await (
    const e of readTar(new Blob([await makeTar(list) as Uint8Array<ArrayBuffer>]).stream(), {
      gzip: true,
      archive: "t.tgz",
    })
  ) {
    out.push(e);
  }
  return out;
}

Deno.test("readTar reads files, dirs and inside symlinks with modes", async () => {
  const big = "x".repeat(70_000);
  const es = await entries([
    { name: "./", type: "dir" },
    { name: "./bridge", data: "#!/bin/sh\n", mode: 0o755 },
    { name: "./big", data: big },
    { name: "./sub/", type: "dir" },
    { name: "./sub/link", type: "symlink", linkname: "../bridge" },
  ]);
  assert.deepEqual(es.map((e) => [e.name, e.type, e.mode]), [
    ["bridge", "file", 0o755],
    ["big", "file", 0o644],
    ["sub", "dir", 0o755],
    ["sub/link", "symlink", 0o644],
  ]);
  assert.equal(new TextDecoder().decode(es[1].data), big);
});

for (
  const [what, bad] of [
    ["a .. entry", { name: "../../etc/passwd", data: "x" }],
    ["an absolute entry", { name: "/etc/passwd", data: "x" }],
    ["a symlink leading outside", { name: "evil", type: "symlink", linkname: "../../etc" }],
    ["an absolute symlink", { name: "evil", type: "symlink", linkname: "/etc/shadow" }],
    ["a hard link", { name: "evil", type: "hardlink", linkname: "bridge" }],
  ] as [string, TarInput][]
) {
  Deno.test(`readTar refuses ${what}`, async () => {
    await assert.rejects(entries([{ name: "ok", data: "1" }, bad]), ContainmentError);
  });
}

Deno.test("extract change: verified, extracted with strip, stamped; rerun satisfied; unsafe archive writes nothing", async () => {
  const good = await makeTar([
    { name: "bin/", type: "dir" },
    { name: "bin/containerd", data: "c", mode: 0o755 },
    { name: "bin/ctr", data: "ctr", mode: 0o755 },
  ]);
  const evil = await makeTar([{ name: "bin/ok", data: "1" }, { name: "../escape", data: "x" }]);
  const srv = fileServer({ "/good.tgz": { body: good }, "/evil.tgz": { body: evil } });
  try {
    const ctx = await tempContext();
    const a = applyContext(ctx);
    const change = extract({ url: `${srv.url}/good.tgz`, sha256: sha256(good) }, "/usr/local/bin", {
      strip: 1,
    });
    assert.equal(await change.satisfied(a), false);
    await change.apply(a);
    assert.equal(await ctx.host.readText("/usr/local/bin/ctr"), "ctr");
    assert.equal((await ctx.host.stat("/usr/local/bin/containerd"))?.mode, 0o755);
    assert.equal(await change.satisfied(a), true);
    await ctx.host.writeFile("/usr/local/bin/ctr", "tampered", { mode: 0o755 });
    assert.equal(await change.satisfied(a), false, "a changed file makes the extract due again");
    const bad = extract({ url: `${srv.url}/evil.tgz`, sha256: sha256(evil) }, "/opt/x");
    await assert.rejects(bad.apply(a), /has an entry with ".."/);
    assert.equal(await ctx.host.exists("/escape"), false);
    assert.equal(
      await ctx.host.exists("/opt/x/bin/ok"),
      false,
      "good entries before the bad one are not written either",
    );
    assert.deepEqual(await ctx.host.readDir("/var/cache/eksnode"), []);
  } finally {
    await srv.close();
  }
});
