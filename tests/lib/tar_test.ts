import assert from "node:assert/strict";
import { extract } from "../../lib/changes.ts";
import { ChecksumError, ContainmentError } from "../../lib/errors.ts";
import { readTar } from "../../lib/tar.ts";
import { makeTar, type TarInput } from "../../fakes/tar_writer.ts";
import { applyContext, fileServer, sha256, tempContext } from "../support/helpers.ts";

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

/** One raw tar header (+ body) with any typeflag: pax (`x`) and GNU long-name (`L`) records too. */
function rawEntry(
  name: string,
  typeflag: string,
  body: string | Uint8Array = "",
  opts: { size?: string } = {},
) {
  const enc = new TextEncoder();
  const data = typeof body === "string" ? enc.encode(body) : body;
  const h = new Uint8Array(512);
  const put = (s: string, off: number) => h.set(enc.encode(s), off);
  put(name, 0);
  put("0000644\0", 100);
  put(opts.size ?? data.length.toString(8).padStart(11, "0") + "\0", 124);
  put("        ", 148);
  put(typeflag, 156);
  put("ustar\x0000", 257);
  put(h.reduce((a, b) => a + b, 0).toString(8).padStart(6, "0") + "\0 ", 148);
  const pad = new Uint8Array((512 - (data.length % 512)) % 512);
  return [h, data, pad];
}

function rawTar(...entries: Uint8Array[][]): Uint8Array {
  const parts = [...entries.flat(), new Uint8Array(1024)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function readRaw(bytes: Uint8Array, gzip = false) {
  const out = [];
  for await (
    const e of readTar(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), { gzip, archive: "t.tar" })
  ) {
    out.push(e);
  }
  return out;
}

const pax = (key: string, value: string) => {
  const rec = (len: number) => `${len} ${key}=${value}\n`;
  let len = rec(0).length;
  while (rec(len).length !== len) len = rec(len).length;
  return rec(len);
};

for (
  const [what, archive] of [
    [
      "a pax path with ..",
      rawTar(rawEntry("PaxHeader", "x", pax("path", "../../etc/cron.d/x")), rawEntry("ok", "0", "x")),
    ],
    [
      "a pax linkpath leading outside",
      rawTar(rawEntry("PaxHeader", "x", pax("linkpath", "../../..")), rawEntry("l", "2")),
    ],
    [
      "a GNU long name that is absolute",
      rawTar(rawEntry("././@LongLink", "L", "/etc/passwd\0"), rawEntry("x", "0", "x")),
    ],
    [
      "a symlink with an empty target",
      rawTar(rawEntry("a", "2"), rawEntry("b", "0", "x")),
    ],
  ] as [string, Uint8Array][]
) {
  Deno.test(`readTar refuses ${what}`, async () => {
    await assert.rejects(readRaw(archive), ContainmentError);
  });
}

Deno.test("readTar refuses symlink chains that lead outside through another symlink of the archive", async () => {
  // a -> . (inside), then a/b -> .. : lexically a/.. is inside, but on disk a is ".", so b would be "..".
  await assert.rejects(
    entries([{ name: "a", type: "symlink", linkname: "." }, {
      name: "a/b",
      type: "symlink",
      linkname: "..",
    }]),
    /inside its symlink a/,
  );
  // d/e/s -> ../.. (the top), then t -> d/e/s/.. : lexically d/e, on disk the parent of the top.
  await assert.rejects(
    entries([
      { name: "d/e/s", type: "symlink", linkname: "../.." },
      { name: "t", type: "symlink", linkname: "d/e/s/.." },
    ]),
    /passing through the symlink d\/e\/s/,
  );
  // A symlink to a sibling file is fine.
  assert.equal(
    (await entries([{ name: "bin/x", data: "1" }, { name: "bin/y", type: "symlink", linkname: "x" }])).length,
    2,
  );
});

for (
  const [what, bytes, gzip] of [
    ["a broken gzip stream", new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]), true],
    [
      "a header whose checksum does not match",
      (() => {
        const t = rawTar(rawEntry("x", "0", "data"));
        t[0] = 0x79; // the name changes, the stored checksum does not
        return t;
      })(),
      false,
    ],
    ["a negative entry size", rawTar(rawEntry("x", "0", "", { size: "-0000001\0" })), false],
    ["a header cut short", rawTar(rawEntry("x", "0", "data")).subarray(0, 300), false],
  ] as [string, Uint8Array, boolean][]
) {
  Deno.test(`readTar reports ${what} as a corrupt archive (exit 5), not an internal error`, async () => {
    await assert.rejects(
      readRaw(bytes, gzip),
      (e: Error) => e instanceof ChecksumError && /is corrupt/.test(e.message),
    );
  });
}

Deno.test("readTar ends on a pax record with a nonsense length instead of looping", async () => {
  const es = await readRaw(rawTar(rawEntry("PaxHeader", "x", "-5 path=x\n2 \n"), rawEntry("ok", "0", "1")));
  assert.deepEqual(es.map((e) => e.name), ["ok"]);
});

Deno.test("extract: a symlink already on disk under the target directory cannot lead entries elsewhere in the root", async () => {
  const archive = await makeTar([{ name: "sub/evil", data: "x" }]);
  const srv = fileServer({ "/a.tgz": { body: archive } });
  try {
    const ctx = await tempContext();
    await ctx.host.mkdir("/opt/x");
    await ctx.host.mkdir("/etc/elsewhere");
    await ctx.host.symlink("/opt/x/sub", "../../etc/elsewhere");
    const change = extract({ url: `${srv.url}/a.tgz`, sha256: sha256(archive) }, "/opt/x");
    await assert.rejects(change.apply(applyContext(ctx)), /\/opt\/x\/sub\/evil leads outside \/opt\/x/);
    assert.deepEqual(await ctx.host.readDir("/etc/elsewhere"), []);
  } finally {
    await srv.close();
  }
});
