/**
 * File modes and owners of the trees `eksnode ami` and `eksnode init` write, through the real CLI:
 * binaries 0755 root:root, files that may hold credentials 0600 root:root, nothing group- or
 * world-writable, nothing setuid; and a rerun puts back a mode or owner someone changed.
 */
import assert from "node:assert/strict";
import { bakeDir, nodeConfigUserData, runInit } from "../support/cli_fixtures.ts";
import { eksnode } from "../support/cli_run.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { walkTree } from "../support/helpers.ts";
import { modeString } from "../../lib/changes.ts";

const IS_ROOT = Deno.uid() === 0;
if (!IS_ROOT) {
  console.warn("file_modes_test: not root: owners (root:root) and their repair are not checked, modes are");
}

interface Entry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  isFile: boolean;
}

/** Every file and directory under `root` (symlinks left out), with mode and owner. */
async function tree(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const { path, info } of walkTree(root)) {
    if (info.isSymlink) continue;
    out.push({
      path,
      mode: (info.mode ?? 0) & 0o7777,
      uid: info.uid ?? -1,
      gid: info.gid ?? -1,
      isFile: info.isFile,
    });
  }
  return out;
}

const octal = modeString;

/** Nothing group- or world-writable, nothing setuid or setgid. */
function assertNoLooseModes(entries: Entry[]): void {
  for (const e of entries) {
    assert.equal(e.mode & 0o022, 0, `${e.path} is group- or world-writable (${octal(e.mode)})`);
    assert.equal(e.mode & 0o6000, 0, `${e.path} is setuid or setgid (${octal(e.mode)})`);
  }
}

/** Asserts `path` has `mode` and, when running as root, belongs to root:root. */
function assertAttrs(entries: Entry[], path: string, mode: number): void {
  const e = entries.find((x) => x.path === path);
  assert.ok(e, `${path} exists`);
  assert.equal(octal(e.mode), octal(mode), `${path} mode`);
  if (IS_ROOT) assert.deepEqual([e.uid, e.gid], [0, 0], `${path} owner`);
}

/** Directories whose files are executables (CNI's LICENSE aside). */
const BIN_DIRS = ["/usr/bin", "/usr/sbin", "/opt/cni/bin", "/etc/eks/image-credential-provider"];

Deno.test("file modes: every baked binary is 0755 root:root, and a rerun repairs a changed mode or owner", async () => {
  const mirror = await startMirror({});
  try {
    const bake = await bakeDir(mirror.bakeToml);
    const root = `${bake.dir}/root`;
    const first = await eksnode(bake.args(root));
    assert.equal(first.code, 0, first.stderr);

    let entries = await tree(root);
    assertNoLooseModes(entries);
    const binaries = entries.filter((e) =>
      e.isFile && BIN_DIRS.some((d) => e.path.startsWith(`${d}/`)) && !e.path.endsWith("/LICENSE")
    ).map((e) => e.path);
    // Every artifact the release manifest lists (and eksnode itself) is among them.
    const manifest = JSON.parse(await Deno.readTextFile(`${root}/etc/eks/release.json`)) as {
      artifacts: { path: string }[];
    };
    for (const a of manifest.artifacts.filter((a) => !a.path.endsWith("/LICENSE"))) {
      assert.ok(binaries.includes(a.path), `${a.path} of release.json is in a binary directory`);
    }
    assert.ok(binaries.includes("/usr/bin/eksnode") && binaries.includes("/usr/bin/kubelet"));
    for (const b of binaries) assertAttrs(entries, b, 0o755);

    // Someone loosens a few: a downloaded binary, an extracted one, eksnode itself.
    const touched = ["/usr/bin/kubelet", "/usr/sbin/runc", "/opt/cni/bin/bridge", "/usr/bin/containerd"];
    for (const p of touched) {
      await Deno.chmod(`${root}${p}`, 0o777);
      if (IS_ROOT) await Deno.chown(`${root}${p}`, 1000, 1000);
    }
    const again = await eksnode(bake.args(root));
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /ami: 37 steps, 0 changes/, "the loosened files were put right");
    entries = await tree(root);
    for (const p of touched) assertAttrs(entries, p, 0o755);
    assertNoLooseModes(entries);
    const third = await eksnode(bake.args(root));
    assert.match(third.stdout, /ami: 37 steps, 0 changes in/);
  } finally {
    await mirror.close();
  }
});

const PROXY_PASSWORD = "proxy-password-in-user-data";
const KUBECONFIG = "/var/lib/kubelet/kubeconfig";
const CLUSTER_CACHE = "/var/lib/eksnode/cluster-prod.json";
const ENV_DROPINS = [
  "/etc/systemd/system/kubelet.service.d/environment.conf",
  "/etc/systemd/system/containerd.service.d/environment.conf",
];

Deno.test("file modes: init's kubeconfig, cluster cache and environment drop-ins are 0600 root:root, repaired on rerun", async () => {
  const userData = nodeConfigUserData(
    false,
    `  instance:\n    environment:\n      HTTPS_PROXY: "http://user:${PROXY_PASSWORD}@proxy:3128"\n`,
  );
  const first = await runInit({ imds: { userData }, eks: {} });
  assert.equal(first.run.code, 0, first.run.stderr);
  const root = first.root;
  let entries = await tree(root);
  assertNoLooseModes(entries);
  for (const p of [KUBECONFIG, CLUSTER_CACHE, ...ENV_DROPINS]) assertAttrs(entries, p, 0o600);
  // Whatever holds the proxy password is readable by root only.
  for (const e of entries.filter((e) => e.isFile)) {
    const text = await Deno.readTextFile(`${root}${e.path}`);
    if (text.includes(PROXY_PASSWORD)) {
      assert.equal(e.mode & 0o077, 0, `${e.path} holds a credential and is ${octal(e.mode)}`);
    }
  }

  const touched = [KUBECONFIG, ENV_DROPINS[0]];
  for (const p of touched) {
    await Deno.chmod(`${root}${p}`, 0o644);
    if (IS_ROOT) await Deno.chown(`${root}${p}`, 1000, 1000);
  }
  const again = await runInit({ imds: { userData }, eks: {}, root });
  assert.equal(again.run.code, 0, again.run.stderr);
  for (const p of touched) {
    assert.ok(again.run.stdout.includes(`+ file ${p} 0600 root:root`), `${p} rewritten`);
  }
  entries = await tree(root);
  for (const p of touched) assertAttrs(entries, p, 0o600);
});

Deno.test("file modes: the bootstrap kubeconfig of a local cluster on Outposts is 0600 root:root", async () => {
  const userData = nodeConfigUserData(true, "").replace(
    "    name: prod\n",
    "    name: prod\n    enableOutpost: true\n    id: 7a8e9b1c-2d3f-4a5b-8c6d-0e1f2a3b4c5d\n",
  );
  const r = await runInit({ imds: { userData } });
  assert.equal(r.run.code, 0, r.run.stderr);
  const entries = await tree(r.root);
  assertNoLooseModes(entries);
  assertAttrs(entries, "/var/lib/kubelet/bootstrap-kubeconfig", 0o600);
  assert.ok(
    !entries.some((e) => e.path === KUBECONFIG),
    "kubelet writes the kubeconfig itself after TLS bootstrap",
  );
});
