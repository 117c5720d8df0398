/**
 * `eksnode verify` on the demo's tree (the real CLI: `ami` then `init` into a temp root from the loopback
 * mirror and the demo cloud): it passes, covers every file and directory the steps planned (same mode),
 * and fails naming the file when one byte of an installed binary changes; the check functions on their own;
 * the image check against a private containerd holding an image imported with `ctr images import`.
 */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import {
  compareLiveSysctls,
  configSandboxImage,
  expectedSysctls,
  procModules,
  sysctlValuesEqual,
  wantedBy,
} from "../../../eks/verify/node_checks.ts";
import { startDemoCloud } from "../../../fakes/demo_cloud.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { eksnode } from "../../support/cli_run.ts";
import {
  CONTAINERD_TOOLS,
  importTinyImage,
  realComponentsSkip,
  startContainerd,
} from "../../support/real_containerd.ts";

/** Bakes and boots the demo tree; returns the root and the stdout of the ami and init runs. */
async function demoTree(): Promise<{ root: string; work: string; planned: string }> {
  const root = await tempDir({ prefix: "eksnode-verify-root-" });
  const work = await tempDir({ prefix: "eksnode-verify-" });
  const mirror = await startMirror({});
  const cloud = await startDemoCloud();
  try {
    await Deno.writeTextFile(`${work}/bake.toml`, mirror.bakeToml);
    const env = { SOURCE_DATE_EPOCH: "1767225600" };
    const ami = await eksnode(["ami", "--root", root, "--config", `${work}/bake.toml`], { env });
    assert.equal(ami.code, 0, ami.stderr);
    const init = await eksnode(["init", "--root", root], { env: { ...env, ...cloud.env } });
    assert.equal(init.code, 0, init.stderr);
    return { root, work, planned: ami.stdout + init.stdout };
  } finally {
    await Promise.all([mirror.close(), cloud.close()]);
  }
}

interface Row {
  group: string;
  name: string;
  status: string;
  detail: string;
}

Deno.test("verify: the demo's tree passes; every planned file and directory is checked with its mode; one changed byte fails naming the file", async () => {
  const { root, work, planned } = await demoTree();
  try {
    const ok = await eksnode(["verify", "--root", root]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^eksnode verify: phase init \(detected\), root /);
    assert.match(ok.stdout, /^verify: \d+ ok, 0 failed, \d+ skipped$/m);
    const amiPhase = await eksnode(["verify", "--root", root, "--phase", "ami"]);
    assert.equal(amiPhase.code, 0, amiPhase.stdout);

    const json = await eksnode(["verify", "--root", root, "--output", "json"]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.phase, "init");
    const rows: Row[] = report.checks;
    for (const group of ["artifacts", "files", "sysctl", "modules", "units", "images"]) {
      assert.ok(rows.some((r) => r.group === group), `a ${group} check`);
    }
    // Under --root the live checks say why they are skipped.
    assert.ok(
      rows.filter((r) => r.status === "skip").every((r) => /--root is not the running system/.test(r.detail)),
    );
    assert.deepEqual(
      rows.filter((r) => r.group === "units").map((r) => [r.name, r.status]),
      [
        // The image's (steps 18 and 36 declare them), then the node's (init step 9).
        ["containerd.service", "ok"],
        ["sandbox-image.service", "ok"],
        ["eksnode-config.service", "ok"],
        ["eksnode-run.service", "ok"],
        ["eksnode-mount-bpf-fs.service", "ok"],
        ["cni-cache-reset.service", "ok"],
        ["kubelet.service", "ok"],
      ],
    );

    // Every `+ file PATH MODE` and `+ dir PATH MODE` line of the ami and init runs is a verify check
    // with the same mode (except eksnode's own bookkeeping): what a step declares it leaves (`leaves`)
    // agrees with what its plan writes.
    const files = new Map(rows.filter((r) => r.group === "files").map((r) => [r.name, r.detail]));
    const writes = [...planned.matchAll(/^\s+\+ (file|dir) (\S+) (\d{4}) /gm)].map((m) => ({
      kind: m[1],
      path: m[2],
      mode: m[3],
    }));
    assert.ok(writes.length > 30, `${writes.length} writes planned`);
    const bookkeeping = /^\/var\/lib\/eksnode\//;
    for (const w of writes) {
      if (bookkeeping.test(w.path)) continue;
      const detail = files.get(w.path);
      assert.ok(detail !== undefined, `verify does not check ${w.kind} ${w.path}`);
      assert.equal(detail, `${w.kind} ${w.mode}`, w.path);
    }

    // One byte of an installed binary: exit 5, the file named in the table and in the error line.
    const kubelet = await Deno.readFile(`${root}/usr/bin/kubelet`);
    kubelet[10] ^= 0x01;
    await Deno.writeFile(`${root}/usr/bin/kubelet`, kubelet);
    const bad = await eksnode(["verify", "--root", root]);
    assert.equal(bad.code, 5, bad.stdout + bad.stderr);
    assert.match(
      bad.stdout,
      /^FAIL\s+artifacts\s+\/usr\/bin\/kubelet\s+kubelet: changed: expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}$/m,
    );
    assert.match(bad.stderr, /^error: 1 of \d+ checks failed: \/usr\/bin\/kubelet \(kubelet: changed/);
    assert.match(bad.stderr, /^hint: the image was modified after it was baked/m);
    kubelet[10] ^= 0x01;
    await Deno.writeFile(`${root}/usr/bin/kubelet`, kubelet);

    // A wrong mode, a missing unit link, a missing sysctl file, an edited manifest.
    await Deno.chmod(`${root}/etc/eks/bootstrap.sh`, 0o777);
    await Deno.remove(`${root}/etc/systemd/system/multi-user.target.wants/kubelet.service`);
    await Deno.rename(`${root}/etc/sysctl.d/99-amazon.conf`, `${root}/etc/sysctl.d/99-amazon.conf.bak`);
    const manifest = await Deno.readTextFile(`${root}/etc/eks/release.json`);
    await Deno.writeTextFile(`${root}/etc/eks/release.json`, manifest.replace('"arch"', '"arch" '));
    const many = await eksnode(["verify", "--root", root, "--output", "json"]);
    assert.equal(many.code, 5);
    const failed = (JSON.parse(many.stdout).checks as Row[]).filter((r) => r.status === "fail");
    assert.deepEqual(failed.map((r) => [r.group, r.name]), [
      ["artifacts", "/etc/eks/release.json"],
      ["files", "/etc/sysctl.d/99-amazon.conf"],
      ["files", "/etc/eks/bootstrap.sh"],
      ["sysctl", "/etc/sysctl.d/99-amazon.conf"],
      ["units", "kubelet.service"],
    ]);
    assert.match(failed[2].detail, /^mode 0777, want 0755$/);
    assert.match(
      failed[4].detail,
      /not enabled: no \/etc\/systemd\/system\/multi-user\.target\.wants\/kubelet\.service/,
    );
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});

Deno.test("verify: a root without /etc/eks/release.json is a config error (exit 3); bad flags are usage errors", async () => {
  const dir = await tempDir();
  const r = await eksnode(["verify", "--root", dir]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /\/etc\/eks\/release\.json not found under /);
  assert.equal((await eksnode(["verify", "--root", dir, "--phase", "boot"])).code, 2);
  assert.equal((await eksnode(["verify", "--root", `${dir}/nope`])).code, 2);
});

Deno.test("verify checks: sysctl order and values, live /proc/sys, modules, WantedBy, sandbox image", async () => {
  const expected = expectedSysctls([
    { path: "/etc/sysctl.d/99-amazon.conf", text: "# c\nvm.overcommit_memory=1\nkernel.panic = 10\n" },
    { path: "/etc/sysctl.d/99-kubernetes-cri.conf", text: "; c\n-net.ipv4.ip_forward = 1\nkernel.panic=5\n" },
  ]);
  assert.deepEqual(Object.fromEntries(expected), {
    "vm.overcommit_memory": { value: "1", file: "/etc/sysctl.d/99-amazon.conf" },
    "kernel.panic": { value: "5", file: "/etc/sysctl.d/99-kubernetes-cri.conf" },
    "net.ipv4.ip_forward": { value: "1", file: "/etc/sysctl.d/99-kubernetes-cri.conf" },
  });
  assert.ok(sysctlValuesEqual("32768\t60999\n", "32768 60999"));
  assert.ok(!sysctlValuesEqual("1", "0"));
  // The kernel reads ip_local_reserved_ports back with ranges collapsed (67-eks-reserved-ports.conf).
  const reserved = "2703,9808,9809,10249,10250,10256,61678,61679";
  assert.ok(sysctlValuesEqual("2703,9808-9809,10249-10250,10256,61678-61679\n", reserved));
  assert.ok(!sysctlValuesEqual("2703,9808-9809,10249-10250,10256,61678\n", reserved));

  // Live values from this machine's /proc/sys: the one it has matches, a changed one and a missing one fail.
  const live = (key: string) =>
    Deno.readTextFile(`/proc/sys/${key.replaceAll(".", "/")}`).catch(() => undefined);
  const pidMax = await live("kernel.pid_max");
  if (pidMax === undefined) {
    console.warn("verify_test: no /proc/sys/kernel/pid_max: live sysctl reading is not checked");
  } else {
    const rows = await compareLiveSysctls(
      new Map([
        ["kernel.pid_max", { value: pidMax.trim(), file: "a.conf" }],
        ["kernel.pid_max_x", { value: "1", file: "b.conf" }],
        ["kernel.threads-max", { value: "-7", file: "c.conf" }],
      ]),
      live,
    );
    assert.deepEqual(rows.map((r) => r.status), ["ok", "fail", "fail"]);
    assert.match(rows[1].detail, /not in \/proc\/sys \(want 1 from b\.conf\)/);
    assert.match(rows[2].detail, /^live \d+, c\.conf sets -7/);
  }

  assert.deepEqual([...procModules("overlay 151552 0 - Live 0x0\nbr_netfilter 32768 0 - Live 0x0\n")], [
    "overlay",
    "br_netfilter",
  ]);
  assert.deepEqual(
    wantedBy("[Unit]\nWantedBy=nope.target\n[Install]\nWantedBy=multi-user.target graphical.target\n"),
    [
      "multi-user.target",
      "graphical.target",
    ],
  );
  assert.equal(
    configSandboxImage(
      "version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\nsandbox = \"r/p:3.10\"\n",
    ),
    "r/p:3.10",
  );
  assert.equal(
    configSandboxImage('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "r/p:3.5"\n'),
    "r/p:3.5",
  );
  assert.equal(configSandboxImage("not toml ["), undefined);
});

const skip = realComponentsSkip("verify_test", [...CONTAINERD_TOOLS, "umoci", "skopeo"]);

Deno.test({
  name: `verify: cached images checked in a private containerd (ctr images import)${
    skip ? ` (skipped: ${skip})` : ""
  }`,
  ignore: skip !== "",
  sanitizeResources: false,
  async fn() {
    const { root, work } = await demoTree();
    const dir = await tempDir({ prefix: "eksnode-verify-ctr-" });
    const containerd = await startContainerd(dir);
    try {
      const sandbox = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10";
      const run = (...extra: string[]) =>
        eksnode([
          "verify",
          "--root",
          root,
          "--containerd-address",
          containerd.sock,
          "--output",
          "json",
          ...extra,
        ]);
      const images = (out: string) => (JSON.parse(out).checks as Row[]).filter((r) => r.group === "images");

      const before = await run();
      assert.equal(before.code, 5, before.stderr);
      assert.deepEqual(images(before.stdout).map((r) => [r.name, r.status]), [[sandbox, "fail"]]);
      assert.match(images(before.stdout)[0].detail, /not in containerd's k8s\.io namespace/);

      await importTinyImage(dir, containerd, "k8s.io", sandbox);
      assert.ok((await containerd.images("k8s.io")).includes(sandbox));
      const after = await run();
      assert.equal(after.code, 0, after.stdout);
      assert.deepEqual(images(after.stdout).map((r) => [r.name, r.status]), [[sandbox, "ok"]]);

      // A baked image that recorded its cached images: each must be there.
      const manifestPath = `${root}/etc/eks/release.json`;
      const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
      const extra = "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/pause:3.10";
      manifest.cachedImages = [sandbox, extra];
      const text = JSON.stringify(manifest, null, 2) + "\n";
      await Deno.writeTextFile(manifestPath, text);
      const { createHash } = await import("node:crypto");
      const release = await Deno.readTextFile(`${root}/etc/eks/release`);
      await Deno.writeTextFile(
        `${root}/etc/eks/release`,
        release.replace(
          /RELEASE_MANIFEST_SHA256='[0-9a-f]+'/,
          `RELEASE_MANIFEST_SHA256='${createHash("sha256").update(text).digest("hex")}'`,
        ),
      );
      const baked = await run("--phase", "ami");
      assert.equal(baked.code, 5, baked.stdout);
      assert.deepEqual(images(baked.stdout).map((r) => [r.name, r.status]), [[sandbox, "ok"], [
        extra,
        "fail",
      ]]);

      const gone = await eksnode(["verify", "--root", root, "--containerd-address", `${dir}/none.sock`]);
      assert.equal(gone.code, 5);
      assert.match(gone.stdout, /containerd does not answer: no socket /);
    } finally {
      await containerd.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
