/** Steps 21–37 (kubelet, CNI, credential provider, release manifest, sysctls, shims) against the loopback mirror. */
import assert from "node:assert/strict";
import { ChecksumError, ConfigError } from "../../../lib/errors.ts";
import { versions } from "../../../assets/versions.ts";
import { snapshotTree } from "../../support/helpers.ts";
import { KUBE_STEPS, kubeBake } from "./ami_kube_fixture.ts";

const mode = async (p: string) => ((await Deno.stat(p)).mode ?? 0) & 0o7777;
const sha = async (p: string) => {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(p));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
};

Deno.test("steps 21-37 install verified binaries, dirs and files; a rerun changes nothing", async () => {
  const b = await kubeBake();
  try {
    const first = await b.run();
    // 9 dirs, 4 downloads/extracts (kubelet, CNI, authenticator, credential provider), 9 files, 1 link;
    // step 36's boot units: 2 enables and their systemd-analyze verify.
    assert.equal(
      first.changeCount,
      27, /* step 33: release.json, release, sbom.cdx.json */
      JSON.stringify(first.steps.map((s) => s.changes)),
    );
    for (
      const d of [
        "/var/lib/kubelet",
        "/etc/kubernetes/kubelet",
        "/etc/systemd/system/kubelet.service.d",
        "/etc/kubernetes/manifests",
        "/var/lib/kubernetes",
        "/opt/cni/bin",
        "/etc/eks/image-credential-provider",
      ]
    ) {
      assert.ok((await Deno.stat(b.at(d))).isDirectory, d);
      assert.equal(await mode(b.at(d)), 0o755, d);
    }
    const bins: [string, keyof typeof b.mirror.artifacts][] = [
      ["/usr/bin/kubelet", "kubelet"],
      ["/usr/bin/aws-iam-authenticator", "awsIamAuthenticator"],
      ["/etc/eks/image-credential-provider/ecr-credential-provider", "ecrCredentialProvider"],
    ];
    for (const [path, name] of bins) {
      assert.equal(await sha(b.at(path)), b.mirror.artifacts[name].sha256, path);
      assert.equal(await mode(b.at(path)), 0o755, path);
    }
    // The published checksum files were fetched too (pin and .sha256 must agree).
    for (const name of ["kubelet", "awsIamAuthenticator", "cniPlugins"] as const) {
      assert.ok(b.mirror.hits[`${b.mirror.artifacts[name].path}.sha256`] >= 1, `${name}.sha256 not fetched`);
    }
    for (const p of ["bridge", "host-local", "loopback", "portmap", "bandwidth", "dhcp"]) {
      assert.equal(await mode(b.at(`/opt/cni/bin/${p}`)), 0o755, p);
      assert.match(await Deno.readTextFile(b.at(`/opt/cni/bin/${p}`)), new RegExp(`synthetic ${p}`));
    }
    assert.equal(await mode(b.at("/opt/cni/bin/LICENSE")), 0o644);
    assert.match(
      await Deno.readTextFile(b.at("/etc/logrotate.d/kube-proxy")),
      /\/var\/log\/kube-proxy\.log \{/,
    );
    assert.match(await Deno.readTextFile(b.at("/etc/sysctl.d/99-amazon.conf")), /^kernel\.panic=10$/m);
    assert.match(
      await Deno.readTextFile(b.at("/etc/sysctl.conf")),
      /^fs\.inotify\.max_user_watches=524288$/m,
    );
    assert.equal(await Deno.readLink(b.at("/etc/sysctl.d/99-sysctl.conf")), "../sysctl.conf");
    assert.equal(await mode(b.at("/etc/eks/bootstrap.sh")), 0o755);
    // The boot units, enabled (systemctl --root made the links).
    for (const unit of ["eksnode-config.service", "eksnode-run.service"]) {
      assert.equal(
        await Deno.readLink(b.at(`/etc/systemd/system/multi-user.target.wants/${unit}`)),
        `/etc/systemd/system/${unit}`,
      );
    }
    assert.ok((await Deno.stat(b.at("/etc/eks/nodeadm.d"))).isDirectory);
    assert.equal(await mode(b.at("/etc/eks/log-collector-script/eks-log-collector.sh")), 0o755);
    const release = JSON.parse(await Deno.readTextFile(b.at("/etc/eks/release.json")));
    assert.deepEqual(
      release.artifacts.filter((a: { artifact: string }) => a.artifact === "kubelet"),
      [{
        path: "/usr/bin/kubelet",
        sha256: b.mirror.artifacts.kubelet.sha256,
        source: b.mirror.artifacts.kubelet.upstream,
        artifact: "kubelet",
        mode: "0755",
      }],
    );

    // No temp files anywhere in the tree.
    const tree = await snapshotTree(b.root);
    assert.deepEqual(Object.keys(tree).filter((p) => p.includes(".eksnode-") || p.endsWith(".download")), []);

    const settled = await snapshotTree(b.root, [/\/var\/lib\/eksnode\/journal/]);
    const second = await b.run();
    assert.equal(second.changeCount, 0, JSON.stringify(second.steps.filter((s) => s.changes.length)));
    assert.deepEqual(await snapshotTree(b.root, [/\/var\/lib\/eksnode\/journal/]), settled);
  } finally {
    await b.close();
  }
});

Deno.test("a tampered kubelet fails step 22 with a ChecksumError and leaves no /usr/bin/kubelet or temp file", async () => {
  const b = await kubeBake({ tamper: ["kubelet"] });
  try {
    await assert.rejects(() => b.run(KUBE_STEPS), (err) => {
      assert.ok(err instanceof ChecksumError, String(err));
      assert.match(err.message, /^step 22 /);
      return true;
    });
    await assert.rejects(() => Deno.stat(b.at("/usr/bin/kubelet")), Deno.errors.NotFound);
    // No temp file beside the target (the failed download never reached /usr/bin at all).
    const left = [];
    try {
      for await (const e of Deno.readDir(b.at("/usr/bin"))) left.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    assert.deepEqual(left, []);
    const cache = [];
    for await (const e of Deno.readDir(b.at("/var/cache/eksnode"))) cache.push(e.name);
    assert.deepEqual(cache, [], "no cached download left");
    // Steps after 22 did not run.
    await assert.rejects(() => Deno.stat(b.at("/etc/eks/release.json")), Deno.errors.NotFound);
  } finally {
    await b.close();
  }
});

Deno.test("dry run of steps 21-37 writes nothing and plans the verified downloads", async () => {
  const b = await kubeBake();
  try {
    const before = await snapshotTree(b.root);
    const plan = await b.run(KUBE_STEPS, true);
    assert.deepEqual(await snapshotTree(b.root), before);
    const lines = plan.steps.flatMap((s) => s.changes);
    const k = b.mirror.artifacts.kubelet;
    assert.ok(
      lines.some((l) =>
        l.startsWith("download ") && l.includes("/usr/bin/kubelet") && l.includes(k.sha256) &&
        l.includes("kubelet.sha256 must agree")
      ),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => l.startsWith("extract ") && l.includes("/opt/cni/bin")));
    assert.ok(lines.some((l) => l.startsWith("file /etc/eks/release.json 0644")));
  } finally {
    await b.close();
  }
});

Deno.test("step 32: unpinned ecr-credential-provider (no published checksum) is a ConfigError; pinned installs", async () => {
  const drop = (toml: string) =>
    toml.split("\n").filter((l) => !l.includes("ecrCredentialProvider")).join("\n");
  const unpinned = await kubeBake({ editToml: drop });
  try {
    await assert.rejects(() => unpinned.run([31, 32]), (err) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /ecr-credential-provider .*no pinned SHA-256/);
      assert.match(err.hint ?? "", /ecrCredentialProvider\.sha256\.x86_64/);
      return true;
    });
    await assert.rejects(() =>
      Deno.stat(unpinned.at("/etc/eks/image-credential-provider/ecr-credential-provider"))
    );
    assert.equal(unpinned.mirror.hits[unpinned.mirror.artifacts.ecrCredentialProvider.path], undefined);
  } finally {
    await unpinned.close();
  }
  const pinned = await kubeBake();
  try {
    const r = await pinned.run([31, 32]);
    assert.equal(r.changeCount, 2);
    assert.equal(
      await sha(pinned.at("/etc/eks/image-credential-provider/ecr-credential-provider")),
      pinned.mirror.artifacts.ecrCredentialProvider.sha256,
    );
  } finally {
    await pinned.close();
  }
});

Deno.test("step 30: Kubernetes 1.33 has no aws-iam-authenticator: a note, nothing installed", async () => {
  assert.equal(versions.kubernetes["1.33"].awsIamAuthenticator, null);
  const b = await kubeBake({ kubernetesVersion: "1.33" });
  try {
    const r = await b.run([30]);
    assert.equal(r.changeCount, 0);
    assert.match(
      r.steps[0].notes.join("\n"),
      /aws-iam-authenticator skipped: the versions data has none for Kubernetes 1\.33/,
    );
    await assert.rejects(() => Deno.stat(b.at("/usr/bin/aws-iam-authenticator")), Deno.errors.NotFound);
  } finally {
    await b.close();
  }
});
