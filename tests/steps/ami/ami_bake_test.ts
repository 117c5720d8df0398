/**
 * `eksnode ami` end to end through the real CLI, against the loopback mirror: a full bake into a temp
 * root pinned by golden files (every file: content or hash, mode, owner; and the rendered plan), rerun =
 * 0 changes, dry-run changes nothing, a tampered artifact fails its step leaving nothing behind, and a run
 * killed midway then resumed ends in the same tree as a clean run.
 */
import assert from "node:assert/strict";
import { compareOrUpdate } from "../../support/golden.ts";
import { bakeDir } from "../../support/cli_fixtures.ts";
import { eksnode, spawnEksnode } from "../../support/cli_run.ts";
import { type Mirror, startMirror } from "../../../fakes/mirror.ts";
import { octalMode, snapshotTree } from "../../support/helpers.ts";
import { Host } from "../../../lib/host.ts";
import { readJournal } from "../../../lib/journal.ts";
import { findTool } from "../../support/validators/mod.ts";

const ENV = { SOURCE_DATE_EPOCH: "1767225600" };
const JOURNAL = [/^\/var\/lib\/eksnode\/journal\//];

/** A bake directory for the mirror's bake config (tests/support/cli_fixtures.ts). */
function setup(mirror: Mirror) {
  return bakeDir(mirror.bakeToml);
}

/** Machine- and run-specific text replaced by stable placeholders. */
function normalize(text: string, mirror: Mirror, root: string, dir: string): string {
  return text
    .replaceAll(mirror.url, "http://MIRROR")
    .replaceAll(root, "/ROOT")
    .replaceAll(dir, "/BAKEDIR")
    .replace(/\(\d+\.\d+s\)/g, "(T)")
    .replace(/ in \d+\.\d+s$/gm, " in Ts")
    // The release files hold the mirror URL (a random port) and the kernel: their hashes vary by run.
    .replace(/(file \/etc\/eks\/release(?:\.json)? .*sha256 )[0-9a-f]{12}/g, "$1SHA")
    // Their sizes too, as the kernel release is as long as the machine's: in the listing the size follows
    // the path, in the plan mode and owner stand between them.
    .replace(/(\/etc\/eks\/release(?:\.json)? \()\d+ B\)/g, "$1N B)")
    .replace(/(\/etc\/eks\/release(?:\.json)? \d{4} \S+ \()\d+ B,/g, "$1N B,")
    .replace(/BUILD_KERNEL='[^']*'/, "BUILD_KERNEL='KERNEL'")
    .replace(/"kernel": "[^"]*"/, '"kernel": "KERNEL"')
    .replace(/RELEASE_MANIFEST_SHA256='[0-9a-f]+'/, "RELEASE_MANIFEST_SHA256='SHA'");
}

/** A step's note that a checking tool is missing here: `sshd not found on this machine: … not checked with sshd -t`. */
const TOOL_MISSING = /^\s+(\S+) not found on this machine: .* not checked with (.+)$/;

/**
 * The plan as a machine with every checking tool prints it. Steps 6 and 7 check their file with sshd or
 * logrotate where the tool is installed (`, checked with sshd -t` on the file's line) and say so in a
 * note where it is not; the note becomes the suffix, so the golden holds on any machine. Returns also
 * the tools the notes named, for {@link assertToolNotesTrue}.
 */
function asIfToolsInstalled(plan: string): { plan: string; missing: string[] } {
  const out: string[] = [];
  const missing: string[] = [];
  let pending: string | undefined;
  for (const line of plan.split("\n")) {
    const m = TOOL_MISSING.exec(line);
    if (m) {
      missing.push(m[1]);
      pending = m[2];
      continue;
    }
    if (pending && /^\s+would file /.test(line)) {
      out.push(`${line}, checked with ${pending}`);
      pending = undefined;
    } else out.push(line);
  }
  assert.equal(pending, undefined, `a "not found on this machine" note with no file after it:\n${plan}`);
  return { plan: out.join("\n"), missing };
}

/** The plan's tool notes tell the truth about this machine: a tool it says is missing is not installed, and one it checks with is. */
function assertToolNotesTrue(plan: string, missing: string[]): void {
  for (const tool of missing) {
    assert.equal(findTool(tool), undefined, `the plan says ${tool} is missing, but it is installed`);
  }
  for (const tool of ["sshd", "logrotate"]) {
    if (missing.includes(tool)) continue;
    assert.ok(findTool(tool), `the plan checks with ${tool}, which this machine does not have`);
    assert.match(plan, new RegExp(`, checked with ${tool} `));
  }
}

/** Every file under the root as golden text: listing (type, mode, owner) plus the content of text files. */
async function goldenFiles(root: string, mirror: Mirror, dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const listing: string[] = [];
  const walk = async (d: string, rel: string) => {
    const names = [...Deno.readDirSync(d)].map((e) => e.name).sort();
    for (const name of names) {
      const p = `${rel}/${name}`;
      if (JOURNAL.some((r) => r.test(p))) continue;
      const st = await Deno.lstat(`${d}/${name}`);
      const mode = octalMode(st);
      const owner = `${st.uid}:${st.gid}`;
      if (st.isSymlink) listing.push(`link ${p} -> ${await Deno.readLink(`${d}/${name}`)}`);
      else if (st.isDirectory) {
        listing.push(`dir  ${mode} ${owner} ${p}`);
        await walk(`${d}/${name}`, p);
      } else {
        listing.push(`file ${mode} ${owner} ${p} (${st.size} B)`);
        const bytes = await Deno.readFile(`${d}/${name}`);
        const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
        if (!p.startsWith("/var/lib/eksnode/") && !text.includes("\0") && bytes.length < 64 * 1024) {
          files[`tree${p}`] = normalize(text, mirror, root, dir);
        }
      }
    }
  };
  await walk(root, "");
  files["LISTING"] = normalize(listing.join("\n") + "\n", mirror, root, dir);
  return files;
}

Deno.test("ami: full bake into a temp root is pinned by golden files; rerun changes nothing", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await setup(mirror);
    const root = `${dir}/root`;
    const plan = await eksnode(args(root, "--dry-run"), { env: ENV });
    assert.equal(plan.code, 0, plan.stderr);
    const planned = asIfToolsInstalled(plan.stdout);
    assertToolNotesTrue(plan.stdout, planned.missing);
    assert.deepEqual(await snapshotTree(root, JOURNAL), {}, "dry-run writes nothing");
    for (let n = 1; n <= 37; n++) {
      assert.match(plan.stdout, new RegExp(`\\[${String(n).padStart(2, "0")}/37\\]`));
    }

    const bake = await eksnode(args(root), { env: ENV });
    assert.equal(bake.code, 0, bake.stderr);
    assert.match(bake.stdout, /ami: 37 steps, \d+ changes in/);
    await compareOrUpdate("ami/full-bake", {
      ...await goldenFiles(root, mirror, dir),
      "PLAN.txt": normalize(planned.plan, mirror, root, dir),
    });

    const again = await eksnode(args(root), { env: ENV });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /ami: 37 steps, 0 changes in/);
    const dry = await eksnode(args(root, "--dry-run"), { env: ENV });
    assert.match(dry.stdout, /0 changes planned/);

    const verify = await eksnode(["verify", "--root", root]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  } finally {
    await mirror.close();
  }
});

Deno.test("ami: a tampered artifact fails its step with exit 5 and leaves no file behind", async () => {
  const mirror = await startMirror({ tamper: ["kubelet"] });
  try {
    const { dir, args } = await setup(mirror);
    const root = `${dir}/root`;
    const r = await eksnode(args(root), { env: ENV });
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stderr,
      /^error: step 22 \(Install kubelet \(checksum-verified\)\): checksum mismatch for .*kubelet: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/,
    );
    assert.equal(await Deno.stat(`${root}/usr/bin/kubelet`).catch(() => undefined), undefined);
    const leftovers = [...Deno.readDirSync(`${root}/usr/bin`)].map((e) => e.name).filter((n) =>
      n.includes("kubelet")
    );
    assert.deepEqual(leftovers, []);
    assert.match(r.stdout, /\[21\/37\]/, "steps before 22 ran");
    assert.doesNotMatch(r.stdout, /\[23\/37\]/, "no step after the failure ran");
  } finally {
    await mirror.close();
  }
});

Deno.test("ami: a run killed mid-download resumes and ends in the same tree as one clean run", async () => {
  const slow = await startMirror({ delay: { cniPlugins: 60_000 } });
  const fast = await startMirror({});
  try {
    const a = await setup(slow);
    const root = `${a.dir}/root`;
    const child = spawnEksnode(a.args(root), ENV);
    // Downloads start early (prefetch); wait until the run has finished step 28 and waits for the CNI
    // tarball of step 29, then kill it like a power cut.
    const host = await Host.open(root);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const done = (await readJournal(host, "ami").catch(() => undefined))?.stepsDone ?? [];
      if (done.includes("ami.28") || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(Object.keys(slow.hits).some((p) => p.endsWith(".tgz")), "the CNI download had started");
    child.kill("SIGKILL");
    await child.output();
    const journal = (await readJournal(host, "ami"))!;
    assert.equal(journal.finished, false);
    assert.ok(journal.stepsDone.includes("ami.28") && !journal.stepsDone.includes("ami.29"));
    assert.equal(await Deno.stat(`${root}/opt/cni/bin/bridge`).catch(() => undefined), undefined);

    // Resume against a mirror that answers (same artifacts, so the same pins).
    const bakeToml = (await Deno.readTextFile(`${a.dir}/bake.toml`)).replace(slow.url, fast.url);
    await Deno.writeTextFile(`${a.dir}/bake.toml`, bakeToml);
    const resumed = await eksnode(a.args(root), { env: ENV });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming an interrupted ami run/);

    const b = await setup(fast);
    const clean = `${b.dir}/root`;
    await Deno.writeTextFile(`${b.dir}/eksnode-binary`, await Deno.readTextFile(`${a.dir}/eksnode-binary`));
    assert.equal((await eksnode(b.args(clean), { env: ENV })).code, 0);
    const strip = (t: Record<string, string>) => {
      // release.json names the mirror URL the run used and the bake directory; compare the rest.
      const { ["/etc/eks/release.json"]: _a, ["/etc/eks/release"]: _b, ...rest } = t;
      return rest;
    };
    assert.deepEqual(strip(await snapshotTree(root, JOURNAL)), strip(await snapshotTree(clean, JOURNAL)));
  } finally {
    await Promise.all([slow.close(), fast.close()]);
  }
});
