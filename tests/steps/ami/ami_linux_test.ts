/**
 * ami steps 1-20 on a temp root: the files written (content, mode), the plan per package manager,
 * dry run writes nothing, rerun is 0 changes, and the validators (sshd -t, logrotate -d,
 * sysctl --dry-run, systemd-analyze verify) on the files written, with real tools where installed.
 */
import { tempDir, tempFile } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { amiContext, type AmiFlags } from "../../../cli/ami.ts";
import { Host } from "../../../lib/host.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { installArgv, queryArgv, refreshArgv, removeArgv } from "../../../lib/packages.ts";
import { runSteps } from "../../../lib/runner.ts";
import {
  addonImages,
  kubeProxyTag,
  partitionRegions,
  regionalNames,
} from "../../../eks/containerd/cached_images.ts";
import { AMI_STEPS } from "../../../steps/ami/index.ts";
import { distroOf, packageName } from "../../../steps/ami/package_names.ts";
import { SSHD_CRYPTO, validateSshdDropin } from "../../../steps/ami/06_ssh_hardening.ts";
import { SSHD_DROPIN } from "../../../eks/paths/node.ts";
import { LOGROTATE_CONF, validateLogrotate } from "../../../steps/ami/07_logrotate_conf.ts";
import { sysctlSyntaxErrors, validateSysctl } from "../../../steps/ami/15_sysctl_cri.ts";
import {
  bakedSchema,
  containerdConfigValidator,
  containerdVersion,
} from "../../../steps/ami/17_containerd_config.ts";
import { generatedContainerdConfig } from "../../../eks/containerd/config.ts";
import { verifyUnits } from "../../../lib/systemd_verify.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { octalMode, sha256, snapshotTree } from "../../support/helpers.ts";

const STEPS_1_20 = Array.from({ length: 20 }, (_, i) => i + 1);
const env = { PATH: Deno.env.get("PATH") ?? "" };

async function has(cmd: string): Promise<string | undefined> {
  return await (await Host.open("/", env)).which(cmd);
}

async function bake(root: string, toml: string, flags: Partial<AmiFlags> = {}, only = STEPS_1_20) {
  const config = await tempFile({ prefix: "eksnode-bake-", suffix: ".toml" });
  await Deno.writeTextFile(config, toml);
  const ctx = await amiContext({
    root,
    output: "text",
    jobs: "4",
    config,
    packageManager: "none",
    ...flags,
  }, env);
  const log = memoryLogger();
  const summary = await runSteps(AMI_STEPS, { ...ctx, log }, { process: "ami", dryRun: ctx.dryRun, only });
  return { summary, log };
}

async function mode(path: string): Promise<string> {
  return octalMode(await Deno.stat(path));
}

Deno.test("ami 1-20: dry run lists every step and writes nothing", async () => {
  const mirror = await startMirror();
  const root = await tempDir({ prefix: "eksnode-ami-dry-" });
  try {
    const { summary } = await bake(root, mirror.bakeToml, { dryRun: true });
    assert.deepEqual(summary.steps.map((s) => s.number), STEPS_1_20);
    assert.deepEqual(await snapshotTree(root), {}, "a dry run writes nothing under --root");
    const lines = summary.steps.flatMap((s) => s.changes);
    for (
      const want of [
        "file /etc/logrotate.conf 0644 root:root",
        "file /etc/ssh/sshd_config.d/05-eksnode-crypto.conf 0600 root:root",
        "download http://127.0.0.1:",
        "extract http://127.0.0.1:",
        "file /etc/containerd/config.toml 0644",
        "file /etc/systemd/system/sandbox-image.service 0644 root:root",
        `run systemctl --root=${root} enable containerd.service`,
      ]
    ) assert.ok(lines.some((l) => l.startsWith(want)), `plan has "${want}…": ${lines.join("\n")}`);
    const notes = summary.steps.flatMap((s) => s.notes);
    assert.ok(notes.includes("package install awscli (package manager none: not run)"));
    assert.ok(notes.some((n) => n.startsWith("image caching skipped: --root")));
    assert.ok(notes.some((n) => n.startsWith("/usr/bin/eksnode skipped:")));
  } finally {
    await mirror.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ami 1-20: writes the files with content and mode, rerun is 0 changes", async () => {
  const mirror = await startMirror();
  const root = await tempDir({ prefix: "eksnode-ami-run-" });
  const self = await tempFile({ prefix: "eksnode-self-" });
  await Deno.writeFile(self, new TextEncoder().encode("#!/bin/sh\necho fake eksnode\n".repeat(1000)));
  try {
    const first = await bake(root, mirror.bakeToml, { self });
    assert.ok(first.summary.changeCount > 20);
    const r = (p: string) => `${root}${p}`;
    assert.equal(sha256(await Deno.readFile(r("/usr/bin/eksnode"))), sha256(await Deno.readFile(self)));
    assert.equal(await mode(r("/usr/bin/eksnode")), "0755");
    assert.equal(await Deno.readTextFile(r("/etc/logrotate.conf")), LOGROTATE_CONF);
    assert.match(LOGROTATE_CONF, /^include \/etc\/logrotate\.d$/m);
    assert.equal(await Deno.readTextFile(r(SSHD_DROPIN)), SSHD_CRYPTO);
    assert.equal(await mode(r(SSHD_DROPIN)), "0600");
    assert.match(
      SSHD_CRYPTO,
      /^Ciphers aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com$/m,
    );
    assert.doesNotMatch(SSHD_CRYPTO, /^(MACs|KexAlgorithms) .*(sha1|md5)/m);
    assert.match(await Deno.readTextFile(r("/etc/systemd/system/runtime.slice")), /^Before=slices\.target$/m);
    assert.match(
      await Deno.readTextFile(r("/etc/systemd/system/containerd.service")),
      /^ExecStart=\/usr\/bin\/containerd$/m,
    );
    assert.match(
      await Deno.readTextFile(r("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf")),
      /^Slice=runtime\.slice$/m,
    );
    assert.equal(sha256(await Deno.readFile(r("/usr/sbin/runc"))), mirror.artifacts.runc.sha256);
    assert.equal(await mode(r("/usr/sbin/runc")), "0755");
    for (const b of ["containerd", "ctr", "containerd-shim-runc-v2"]) {
      assert.equal(await mode(r(`/usr/bin/${b}`)), "0755");
    }
    assert.deepEqual(
      (await Deno.readTextFile(r("/etc/modules-load.d/containerd.conf"))).split("\n").filter((l) =>
        l && !l.startsWith("#")
      ),
      ["overlay", "br_netfilter"],
    );
    const sysctl = await Deno.readTextFile(r("/etc/sysctl.d/99-kubernetes-cri.conf"));
    for (
      const k of [
        "net.bridge.bridge-nf-call-iptables",
        "net.bridge.bridge-nf-call-ip6tables",
        "net.ipv4.ip_forward",
      ]
    ) {
      assert.match(sysctl, new RegExp(`^${k.replaceAll(".", "\\.")} = 1$`, "m"));
    }
    for (const d of ["/etc/eks", "/etc/eks/containerd", "/etc/containerd/config.d"]) {
      assert.equal(await mode(r(d)), "0755");
    }
    // containerd 2.x config.
    // deno-lint-ignore no-explicit-any -- parsed TOML, walked by key below
    const cfg = parseToml(await Deno.readTextFile(r("/etc/containerd/config.toml"))) as Record<string, any>;
    assert.equal(cfg.version, 3);
    const images = cfg.plugins["io.containerd.cri.v1.images"];
    assert.equal(images.pinned_images.sandbox, "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10");
    const runc = cfg.plugins["io.containerd.cri.v1.runtime"].containerd.runtimes.runc;
    assert.equal(runc.options.SystemdCgroup, true);
    assert.equal(runc.options.BinaryName, "/usr/sbin/runc");
    assert.match(
      await Deno.readTextFile(r("/etc/systemd/system/sandbox-image.service")),
      /^Requires=containerd\.service$/m,
    );
    for (const u of ["containerd.service", "sandbox-image.service"]) {
      assert.equal(
        await Deno.readLink(r(`/etc/systemd/system/multi-user.target.wants/${u}`)),
        `/etc/systemd/system/${u}`,
        `${u} enabled with systemctl --root`,
      );
    }
    const again = await bake(root, mirror.bakeToml, { self });
    assert.equal(again.summary.changeCount, 0, again.summary.steps.flatMap((s) => s.changes).join("; "));
  } finally {
    await mirror.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(self);
  }
});

Deno.test("ami 10-11 with containerd_source package: package lines per package manager", async () => {
  const mirror = await startMirror();
  try {
    const cases = [
      {
        pm: "dnf",
        want: (root: string) =>
          `package install containerd 2.1.4 via dnf install -y --installroot=${root} containerd-2.1.4 (after dnf makecache --installroot=${root}, once a run)`,
      },
      {
        pm: "yum",
        want: (root: string) =>
          `package install runc 1.3.3 via yum install -y --installroot=${root} runc-1.3.3 (after yum makecache --installroot=${root}, once a run)`,
      },
    ] as const;
    for (const c of cases) {
      const root = await tempDir({ prefix: `eksnode-ami-${c.pm}-` });
      try {
        const { summary } = await bake(root, mirror.bakeToml, {
          packageManager: c.pm,
          containerdSource: "package",
          dryRun: true,
        }, [
          2,
          3,
          4,
          5,
          10,
          11,
        ]);
        const lines = summary.steps.flatMap((s) => s.changes);
        assert.ok(lines.includes(c.want(root)), `${c.pm}: ${lines.join("\n")}`);
        if (c.pm === "dnf") {
          // containerd version-locked after its pinned install, as AL2023's build does (dnf only), by the
          // plugin that build installs.
          assert.ok(
            lines.includes(
              `package install python3-dnf-plugin-versionlock via dnf install -y --installroot=${root} python3-dnf-plugin-versionlock (after dnf makecache --installroot=${root}, once a run)`,
            ),
            lines.join("\n"),
          );
          assert.ok(
            lines.includes(
              "package versionlock containerd at its installed version in /etc/dnf/plugins/versionlock.list",
            ),
            lines.join("\n"),
          );
          assert.ok(
            lines.includes(
              `package install iptables-legacy via dnf install -y --installroot=${root} iptables-legacy (after dnf makecache --installroot=${root}, once a run)`,
            ),
          );
          // Nothing is installed in the empty tree (no rpm database), so there is nothing to remove.
          assert.ok(!lines.some((l) => l.startsWith("package remove")), lines.join("\n"));
        } else {
          assert.ok(!lines.some((l) => l.includes("versionlock")), lines.join("\n"));
          assert.ok(
            summary.steps.flatMap((s) => s.notes).includes(
              "iptables on Amazon Linux 2 is the legacy backend: nothing to select",
            ),
          );
        }
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    }
    // apt under a root other than /: said plainly, not run.
    const root = await tempDir({ prefix: "eksnode-ami-apt-" });
    try {
      await Deno.mkdir(`${root}/etc`);
      await Deno.writeTextFile(`${root}/etc/os-release`, 'ID=ubuntu\nVERSION_ID="22.04"\n');
      const { summary } = await bake(root, mirror.bakeToml, { packageManager: "apt", dryRun: true }, [
        2,
        3,
        4,
        5,
      ]);
      const notes = summary.steps.flatMap((s) => s.notes);
      assert.ok(
        notes.some((n) => n.startsWith("package install awscli (apt cannot install into --root")),
        notes.join("\n"),
      );
      assert.ok(notes.some((n) => n.includes("amazon-ssm-agent is a snap on Ubuntu")), notes.join("\n"));
      assert.ok(notes.includes("package ec2NetUtils removal skipped: Ubuntu has no ec2-net-utils package"));
      assert.equal(summary.changeCount, 0);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  } finally {
    await mirror.close();
  }
});

const dpkg = await has("dpkg-query");
Deno.test({
  name: `apt on this system (dry run, read-only): dpkg-query drops installed packages${
    dpkg ? "" : " (skipped: no dpkg-query)"
  }`,
  ignore: !dpkg,
  async fn() {
    {
      const ctx = await amiContext({
        root: "/",
        output: "text",
        jobs: "1",
        packageManager: "apt",
        dryRun: true,
      }, env);
      const summary = await runSteps(AMI_STEPS, { ...ctx, log: memoryLogger() }, {
        process: "ami",
        dryRun: true,
        only: [2, 3],
      });
      const lines = summary.steps.flatMap((s) => s.changes);
      const installed =
        (await new Deno.Command("dpkg-query", { args: ["-W", "-f=${Status}", "iptables"] }).output()).stdout;
      if (new TextDecoder().decode(installed) === "install ok installed") {
        assert.ok(
          !lines.some((l) => l.startsWith("package install iptables ")),
          "installed iptables is not planned",
        );
      }
      const awscli = new TextDecoder().decode(
        (await new Deno.Command("dpkg-query", { args: ["-W", "-f=${Status}", "awscli"] }).output()).stdout,
      );
      assert.equal(
        lines.includes(
          "package install awscli via apt-get install -y --no-install-recommends awscli (after apt-get update, once a run)",
        ),
        awscli !== "install ok installed",
      );
    }
  },
});

Deno.test("package adapter argv per package manager", () => {
  const table = [
    {
      t: { manager: "dnf", root: "/" },
      q: ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}\\n", "x"],
      i: ["dnf", "install", "-y", "x-1.2"],
    },
    {
      t: { manager: "yum", root: "/r" },
      q: ["rpm", "--root", "/r", "-q", "--qf", "%{VERSION}-%{RELEASE}\\n", "x"],
      i: ["yum", "install", "-y", "--installroot=/r", "x-1.2"],
    },
    {
      t: { manager: "apt", root: "/" },
      q: ["dpkg-query", "-W", "-f=${Status}\\t${Version}", "x"],
      i: ["apt-get", "install", "-y", "--no-install-recommends", "x=1.2*"],
    },
  ] as const;
  for (const c of table) {
    assert.deepEqual(queryArgv(c.t, { name: "x" }), c.q);
    assert.deepEqual(installArgv(c.t, { name: "x", version: "1.2" }), c.i);
  }
  // Metadata is refreshed before the first install of a run, as distributions' build scripts do.
  assert.deepEqual(refreshArgv({ manager: "apt", root: "/" }), ["apt-get", "update"]);
  assert.deepEqual(refreshArgv({ manager: "dnf", root: "/r" }), ["dnf", "makecache", "--installroot=/r"]);
  assert.deepEqual(removeArgv({ manager: "dnf", root: "/r" }, { name: "x" }), [
    "dnf",
    "remove",
    "-y",
    "--installroot=/r",
    "x",
  ]);
  assert.equal(distroOf("apt", 'NAME="Ubuntu"\nID=ubuntu\n'), "ubuntu");
  assert.equal(distroOf("apt", "ID=debian\n"), "debian");
  assert.equal(distroOf("dnf"), "al2023");
  assert.equal(packageName("iptablesLegacy", "al2023"), "iptables-legacy");
  assert.deepEqual(typeof packageName("ssmAgent", "debian"), "object");
});

Deno.test("cached images: tags, nulls, regions", () => {
  assert.equal(kubeProxyTag("v1.32.3-eksbuild.7", true), "v1.32.3-minimal-eksbuild.7");
  assert.equal(kubeProxyTag("v1.32.3-eksbuild.7", false), "v1.32.3-eksbuild.7");
  const a = addonImages("1.32", {
    kubeProxy: { default: null, latest: "v1.32.3-eksbuild.7" },
    vpcCni: { default: "v1.19.2-eksbuild.5", latest: "v1.19.2-eksbuild.5" },
  });
  assert.deepEqual(a.images.map((i) => `${i.repository}:${i.tag}`), [
    "amazon-k8s-cni:v1.19.2-eksbuild.5",
    "amazon-k8s-cni-init:v1.19.2-eksbuild.5",
    "eks/kube-proxy:v1.32.3-minimal-eksbuild.7",
  ]);
  assert.equal(a.notes.length, 1);
  const old = addonImages("1.23", {
    kubeProxy: { default: "v1.23.1-eksbuild.1", latest: null },
    vpcCni: { default: null, latest: null },
  });
  assert.deepEqual(old.images.map((i) => i.tag), ["v1.23.1-eksbuild.1", "v1.23.1-minimal-eksbuild.1"]);
  assert.deepEqual(partitionRegions("cn-north-1"), ["cn-north-1", "cn-northwest-1"]);
  assert.ok(
    partitionRegions("us-west-2").includes("ap-east-1") &&
      !partitionRegions("us-west-2").includes("cn-north-1"),
  );
  assert.deepEqual(
    regionalNames({ repository: "amazon-k8s-cni", tag: "v1.0.0-eksbuild.1", label: "" }, ["us-gov-west-1"]),
    [
      "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com/amazon-k8s-cni:v1.0.0-eksbuild.1",
      "013241004608.dkr.ecr.us-gov-west-1.amazonaws.com/amazon-k8s-cni:v1.0.0",
      "013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/amazon-k8s-cni:v1.0.0-eksbuild.1",
      "013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/amazon-k8s-cni:v1.0.0",
    ],
  );
});

async function withCandidate<T>(text: string, fn: (path: string, host: Host) => Promise<T>): Promise<T> {
  const dir = await tempDir({ prefix: "eksnode-validate-" });
  try {
    await Deno.mkdir(`${dir}/etc/logrotate.d`, { recursive: true });
    await Deno.writeTextFile(`${dir}/candidate`, text, { mode: 0o644 });
    return await fn(`${dir}/candidate`, await Host.open(dir, env));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const sshd = (await has("sshd")) ?? (await has("/usr/sbin/sshd"));
Deno.test({
  name: `sshd -t accepts the drop-in and rejects a weak or unknown algorithm${
    sshd ? "" : " (skipped: no sshd)"
  }`,
  ignore: !sshd,
  async fn() {
    assert.deepEqual((await withCandidate(SSHD_CRYPTO, (p, h) => validateSshdDropin(sshd!, p, h))).ok, true);
    const bad = await withCandidate(
      "Ciphers aes128-ctr,not-a-cipher\n",
      (p, h) => validateSshdDropin(sshd!, p, h),
    );
    assert.equal(bad.ok, false);
    assert.match(bad.detail ?? "", /cipher/i);
  },
});

const logrotate = (await has("logrotate")) ?? (await has("/usr/sbin/logrotate"));
Deno.test({
  name: `logrotate -d accepts logrotate.conf and rejects a broken one${
    logrotate ? "" : " (skipped: no logrotate)"
  }`,
  ignore: !logrotate,
  async fn() {
    const good = await withCandidate(LOGROTATE_CONF, (p, h) => validateLogrotate(logrotate!, p, h));
    assert.deepEqual(good, { ok: true });
    const bad = await withCandidate(
      "weekly\n/var/log/x {\n  rotate four\n}\n",
      (p, h) => validateLogrotate(logrotate!, p, h),
    );
    assert.equal(bad.ok, false);
  },
});

Deno.test("sysctl: parser table and sysctl --dry-run where it exists", async () => {
  assert.deepEqual(sysctlSyntaxErrors("# c\n; c\n\nnet.ipv4.ip_forward = 1\n-kernel.x=2\n"), []);
  assert.deepEqual(sysctlSyntaxErrors("garbage\n"), ['line 1: "garbage" is not key = value']);
  assert.deepEqual(sysctlSyntaxErrors("a.b =\n"), ['line 1: "a.b =" is not key = value']);
  const ok = await withCandidate(
    "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n",
    validateSysctl,
  );
  assert.equal(ok.ok, true);
  assert.equal((await withCandidate("this is not sysctl\n", validateSysctl)).ok, false);
});

Deno.test("containerd config: renders TOML version 3; version parsing", () => {
  const input = {
    schema: 3 as const,
    sandboxImage: "r.example/eks/pause:3.10",
    kubernetesVersion: "1.32",
  };
  const text = generatedContainerdConfig(input);
  const cfg = parseToml(text) as {
    version: number;
    plugins: Record<string, { pinned_images?: { sandbox: string } }>;
  };
  assert.equal(cfg.version, 3);
  assert.equal(cfg.plugins["io.containerd.cri.v1.images"].pinned_images?.sandbox, "r.example/eks/pause:3.10");
  assert.match(text, /BinaryName = "\/usr\/sbin\/runc"\nSystemdCgroup = true/);
  assert.match(
    generatedContainerdConfig({
      ...input,
      runtime: { name: "nvidia", binaryName: "/usr/bin/nvidia-container-runtime" },
    }),
    /runtimes\.nvidia\.options\]\nBinaryName = "\/usr\/bin\/nvidia-container-runtime"/,
  );
  assert.throws(
    () => generatedContainerdConfig({ ...input, sandboxImage: 'r.example/p:"x"' }),
    /not an image reference/,
  );
  assert.deepEqual(containerdVersion("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7"), [
    2,
    1,
  ]);
  assert.deepEqual(containerdVersion("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1"), [
    1,
    6,
  ]);
  assert.equal(containerdVersion("nonsense"), undefined);
});

Deno.test("ami step 17: the schema of the containerd baked, checked by this machine's containerd where it reads it", async () => {
  assert.equal(bakedSchema("2.1.4"), 3);
  assert.equal(bakedSchema("1.7.27"), 2);
  const input = { sandboxImage: "r.example/eks/pause:3.10", kubernetesVersion: "1.32" };
  const v2 = generatedContainerdConfig({ ...input, schema: 2 });
  const v3 = generatedContainerdConfig({ ...input, schema: 3 });
  // A file in the other schema is refused whatever containerd is here.
  const wrong = await withCandidate(v3, containerdConfigValidator(2));
  assert.equal(wrong.ok, false);
  assert.match(wrong.detail ?? "", /version is 3, the baked containerd needs 2/);
  const ok2 = await withCandidate(v2, containerdConfigValidator(2));
  assert.equal(ok2.ok, true, ok2.detail);
  // containerd 1.x and 2.x both load a version-2 file: dumped when containerd is here (detail unset).
  if (await has("containerd")) assert.equal(ok2.detail, undefined);
  const broken = await withCandidate(
    v2.replace("SystemdCgroup = true", "SystemdCgroup = maybe"),
    containerdConfigValidator(2),
  );
  assert.equal(broken.ok, false);
});

const analyze = await has("systemd-analyze");
Deno.test({
  name: `systemd-analyze verify: a unit typo is a problem, an incomplete tree only a caveat${
    analyze ? "" : " (skipped)"
  }`,
  ignore: !analyze,
  async fn() {
    const dir = await tempDir({ prefix: "eksnode-units-" });
    try {
      await Deno.mkdir(`${dir}/etc/systemd/system`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/etc/systemd/system/good.service`,
        "[Service]\nType=oneshot\nExecStart=/bin/true\n",
      );
      await Deno.writeTextFile(
        `${dir}/etc/systemd/system/bad.service`,
        "[Service]\nTypo=oneshot\nExecStart=/bin/true\n",
      );
      const host = await Host.open(dir, env);
      const good = await verifyUnits(host, ["good.service"]);
      assert.deepEqual(good.problems, []);
      const bad = await verifyUnits(host, ["bad.service"]);
      assert.ok(bad.problems.some((l) => l.includes("Typo")), JSON.stringify(bad));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
