/** Steps 25, 29, 34–37: file contents, the sysctl block and swap, the shims' argv passing, evil CNI tarballs. */
import { tempDir } from "../../../fakes/temp.ts";
import assert from "node:assert/strict";
import { githubArtifact, versions } from "../../../assets/versions.ts";
import { ConfigError, ContainmentError } from "../../../lib/errors.ts";
import { LOGROTATE_KUBE_PROXY } from "../../../steps/ami/25_logrotate_kube_proxy.ts";
import { SYSCTL_AMAZON } from "../../../steps/ami/34_sysctl_amazon.ts";
import {
  accepted,
  describeVerdict,
  findTool,
  validateLogrotateFile,
  withScratch,
} from "../../support/validators/mod.ts";
import {
  BLOCK_BEGIN,
  BLOCK_END,
  disableSwapEntries,
  SWAP_COMMENT,
  sysctlBlock,
  upsertBlock,
} from "../../../steps/ami/35_sysctl_node.ts";
import { renderBootstrapShim } from "../../../steps/ami/36_bootstrap_shim.ts";
import { renderLogCollectorShim } from "../../../steps/ami/37_log_collector.ts";
import { kubeBake } from "./ami_kube_fixture.ts";
import { makeTar, type TarInput } from "../../../lib/tar_write.ts";
import { fileServer, sha256 } from "../../support/helpers.ts";

/** key=value pairs of a sysctl file (comments and blanks skipped); every other line fails the test. */
function sysctlPairs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const m = /^([a-z0-9_.-]+)\s*=\s*(\S+)$/.exec(t);
    assert.ok(m, `not a sysctl line: ${line}`);
    out.set(m[1], m[2]);
  }
  return out;
}

Deno.test("99-amazon.conf holds exactly what kubelet's protectKernelDefaults checks", () => {
  // kubernetes/kubernetes pkg/kubelet/cm/container_manager_linux.go setupKernelTunables desiredState.
  assert.deepEqual(
    Object.fromEntries(sysctlPairs(SYSCTL_AMAZON)),
    {
      "vm.overcommit_memory": "1",
      "vm.panic_on_oom": "0",
      "kernel.panic": "10",
      "kernel.panic_on_oops": "1",
      "kernel.keys.root_maxkeys": "1000000",
      "kernel.keys.root_maxbytes": "25000000",
    },
  );
});

Deno.test("node sysctls: amazon-eks-ami's values, each line with a comment above it", () => {
  const block = sysctlBlock();
  const pairs = sysctlPairs(block);
  for (
    const [k, v] of Object.entries({
      "fs.inotify.max_user_watches": "524288",
      "fs.inotify.max_user_instances": "8192",
      "vm.max_map_count": "524288",
      "kernel.pid_max": "4194304",
    })
  ) assert.equal(pairs.get(k), v, k);
  assert.ok(pairs.has("net.core.somaxconn") && pairs.has("net.ipv4.neigh.default.gc_thresh3"));
  // Every setting sits in a group of settings headed by a comment saying why.
  const lines = block.split("\n");
  lines.forEach((l, i) => {
    if (!l || l.startsWith("#")) return;
    let j = i - 1;
    while (j >= 0 && lines[j] && !lines[j].startsWith("#")) j--;
    assert.ok(j >= 0 && lines[j].startsWith("#") && !lines[j].startsWith("# BEGIN"), `no comment above ${l}`);
  });
});

Deno.test("upsertBlock keeps other content and replaces only its own block", () => {
  const block = `${BLOCK_BEGIN}\na=1\n${BLOCK_END}\n`;
  const block2 = `${BLOCK_BEGIN}\na=2\n${BLOCK_END}\n`;
  const cases: [string, string, string][] = [
    ["", block, block],
    ["x=1\n", block, `x=1\n\n${block}`],
    ["x=1", block, `x=1\n\n${block}`],
    [`x=1\n\n${block}`, block2, `x=1\n\n${block2}`],
    [`# top\n${block}y=2\n`, block2, `# top\n${block2}y=2\n`],
    [`${BLOCK_BEGIN.split(" (")[0]} (older wording)\nold=1\n${BLOCK_END}\nz=3\n`, block, `${block}z=3\n`],
  ];
  for (const [text, b, want] of cases) {
    assert.equal(upsertBlock(text, b), want, JSON.stringify(text));
    assert.equal(upsertBlock(want, b), want, "second pass changes nothing");
  }
  assert.throws(() => upsertBlock(`x=1\n${BLOCK_BEGIN}\na=1\n`, block), ConfigError);
});

Deno.test("disableSwapEntries comments out swap lines only, and only once", () => {
  const fstab = [
    "# /etc/fstab",
    "UUID=1 / xfs defaults,noatime 1 1",
    "/swapfile none swap sw 0 0",
    "  /dev/nvme1n1 none   swap defaults 0 0",
    "#/dev/sdb none swap sw 0 0",
    "tmpfs /swapdir tmpfs defaults 0 0",
    "",
  ].join("\n");
  const { text, disabled } = disableSwapEntries(fstab);
  assert.deepEqual(disabled, ["/swapfile", "/dev/nvme1n1"]);
  const lines = text.split("\n");
  assert.equal(lines[2], `${SWAP_COMMENT}/swapfile none swap sw 0 0`);
  assert.equal(lines[3], `${SWAP_COMMENT}  /dev/nvme1n1 none   swap defaults 0 0`);
  assert.deepEqual([lines[0], lines[1], lines[4], lines[5], lines[6]], [
    "# /etc/fstab",
    "UUID=1 / xfs defaults,noatime 1 1",
    "#/dev/sdb none swap sw 0 0",
    "tmpfs /swapdir tmpfs defaults 0 0",
    "",
  ]);
  assert.deepEqual(disableSwapEntries(text), { text, disabled: [] });
});

Deno.test("step 35 on an image with its own sysctl.conf and a swap entry; keep_swap leaves fstab alone", async () => {
  const b = await kubeBake();
  try {
    await Deno.mkdir(b.at("/etc"), { recursive: true });
    await Deno.writeTextFile(b.at("/etc/sysctl.conf"), "# distro settings\nkernel.sysrq=16\n");
    await Deno.writeTextFile(b.at("/etc/fstab"), "UUID=1 / xfs defaults 0 0\n/swapfile none swap sw 0 0\n");
    await Deno.mkdir(b.at("/etc/sysctl.d"));
    await Deno.writeTextFile(b.at("/etc/sysctl.d/99-sysctl.conf"), "# the image's own file: left alone\n");
    const r = await b.run([35]);
    assert.equal(r.changeCount, 2);
    assert.equal(
      await Deno.readTextFile(b.at("/etc/sysctl.d/99-sysctl.conf")),
      "# the image's own file: left alone\n",
    );
    assert.match(r.steps[0].notes.join("\n"), /swapoff -a skipped: --root is not the running system/);
    const conf = await Deno.readTextFile(b.at("/etc/sysctl.conf"));
    assert.ok(conf.startsWith("# distro settings\nkernel.sysrq=16\n\n# BEGIN eksnode"), conf);
    assert.equal(
      await Deno.readTextFile(b.at("/etc/fstab")),
      `UUID=1 / xfs defaults 0 0\n${SWAP_COMMENT}/swapfile none swap sw 0 0\n`,
    );
    assert.equal((await b.run([35])).changeCount, 0);
  } finally {
    await b.close();
  }
  const keep = await kubeBake({ editToml: (t) => t.replace("[versions]", "keep_swap = true\n\n[versions]") });
  try {
    await Deno.mkdir(keep.at("/etc"), { recursive: true });
    await Deno.writeTextFile(keep.at("/etc/fstab"), "/swapfile none swap sw 0 0\n");
    const r = await keep.run([35]);
    assert.match(r.steps[0].notes.join("\n"), /swap kept on/);
    assert.equal(await Deno.readTextFile(keep.at("/etc/fstab")), "/swapfile none swap sw 0 0\n");
  } finally {
    await keep.close();
  }
});

const logrotateMissing = !findTool("logrotate");
Deno.test({
  name: `logrotate accepts the kube-proxy config${
    logrotateMissing ? " (logrotate -d skipped: not installed)" : ""
  }`,
  async fn() {
    assert.match(LOGROTATE_KUBE_PROXY, /^\/var\/log\/kube-proxy\.log \{$/m);
    for (const d of ["rotate 5", "daily", "compress", "missingok", "copytruncate"]) {
      assert.match(LOGROTATE_KUBE_PROXY, new RegExp(`^\\s+${d}$`, "m"));
    }
    if (logrotateMissing) {
      console.log("ami_kube_files_test: logrotate not installed: /etc/logrotate.d/kube-proxy is not checked");
      return;
    }
    await withScratch("kube-proxy-logrotate", async (dir) => {
      await Deno.writeTextFile(`${dir}/kube-proxy`, LOGROTATE_KUBE_PROXY);
      const v = await validateLogrotateFile(`${dir}/kube-proxy`);
      assert.ok(accepted(v), describeVerdict(v));
    });
  },
});

async function runShim(render: (eksnode: string) => string, args: string[]): Promise<string[]> {
  const dir = await tempDir();
  try {
    const fake = `${dir}/fake eksnode`; // a space in the path: the shim must quote it
    await Deno.writeTextFile(fake, `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done\n`, {
      mode: 0o755,
    });
    await Deno.chmod(fake, 0o755);
    const path = `${dir}/shim.sh`;
    await Deno.writeTextFile(path, render(fake));
    await Deno.chmod(path, 0o755);
    const out = await new Deno.Command(path, { args, stdout: "piped", stderr: "piped" }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).split("\0").slice(0, -1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("bootstrap.sh and eks-log-collector.sh shims pass argv intact (spaces, quotes, globs, empty)", async () => {
  const args = [
    "my-cluster",
    "--kubelet-extra-args",
    "--node-labels=a=b,c=d --register-with-taints=x=y:NoSchedule",
    "--b64-cluster-ca",
    'it\'s "quoted"',
    "",
    "a  b\tc",
    "$HOME `id` $(id) *",
    "--dns-cluster-ip=10.100.0.10",
  ];
  assert.deepEqual(await runShim(renderBootstrapShim, args), ["init", ...args]);
  assert.deepEqual(await runShim(renderLogCollectorShim, ["--output", "/tmp/a b.tgz"]), [
    "collect-logs",
    "--output",
    "/tmp/a b.tgz",
  ]);
  assert.deepEqual(await runShim(renderBootstrapShim, []), ["init"]);
  // The installed files are exactly these renderings, executable.
  const b = await kubeBake();
  try {
    await b.run([36, 37]);
    assert.equal(await Deno.readTextFile(b.at("/etc/eks/bootstrap.sh")), renderBootstrapShim());
    assert.match(renderBootstrapShim(), /^exec \/usr\/bin\/eksnode init "\$@"$/m);
    assert.equal(
      await Deno.readTextFile(b.at("/etc/eks/log-collector-script/eks-log-collector.sh")),
      renderLogCollectorShim(),
    );
  } finally {
    await b.close();
  }
});

/** A bake config and mirror serving one CNI tarball of our making for step 29. */
async function cniServer(entries: TarInput[]) {
  const tgz = await makeTar(entries);
  const art = githubArtifact(versions, "cniPlugins", "x86_64");
  const u = new URL(art.url);
  const path = `/${u.host}${u.pathname}`;
  const hash = sha256(tgz);
  const server = fileServer({
    [path]: { body: tgz },
    [`${path}.sha256`]: { body: `${hash}  ${path.split("/").pop()}\n` },
  });
  const dir = await tempDir({ prefix: "eksnode-cni-" });
  const config = `${dir}/bake.toml`;
  await Deno.writeTextFile(
    config,
    [
      `kubernetes_version = "1.32"`,
      `arch = "x86_64"`,
      `mirror = "${server.url}"`,
      `package_manager = "none"`,
      ``,
      `[versions]`,
      `artifacts.cniPlugins.sha256.x86_64 = "${hash}"`,
      ``,
    ].join("\n"),
  );
  await Deno.mkdir(`${dir}/root`);
  return { server, dir, config, root: `${dir}/root` };
}

Deno.test("step 29 refuses evil CNI tarballs: .., absolute names, links leading outside", async () => {
  const { amiContext } = await import("../../../cli/ami.ts");
  const { runSteps } = await import("../../../lib/runner.ts");
  const { AMI_STEPS } = await import("../../../steps/ami/index.ts");
  const { memoryLogger } = await import("../../../lib/log.ts");
  const good: TarInput = { name: "./bridge", data: "#!/bin/sh\n", mode: 0o755 };
  const evils: [string, TarInput[]][] = [
    ["dot-dot", [good, { name: "./../../escaped", data: "pwned\n" }]],
    ["absolute", [{ name: "/tmp/eksnode-evil-abs", data: "pwned\n" }]],
    ["symlink out", [{ name: "./escaped-link", type: "symlink", linkname: "../../../../etc" }]],
    ["absolute symlink", [{ name: "./abs-link", type: "symlink", linkname: "/etc/passwd" }]],
    ["hard link", [good, { name: "./hard", type: "hardlink", linkname: "../../../etc/passwd" }]],
  ];
  for (const [label, entries] of evils) {
    const s = await cniServer(entries);
    try {
      const ctx = Object.assign(
        await amiContext({
          root: s.root,
          output: "text",
          jobs: "1",
          config: s.config,
          packageManager: "none",
        }, { PATH: "/usr/bin:/bin" }),
        { log: memoryLogger() },
      );
      await assert.rejects(
        () => runSteps(AMI_STEPS, ctx, { process: "ami", dryRun: false, only: [28, 29] }),
        (err) => {
          assert.ok(err instanceof ContainmentError, `${label}: ${err}`);
          assert.match(err.message, /refused/);
          return true;
        },
        label,
      );
      await assert.rejects(() => Deno.stat(`${s.dir}/escaped`), Deno.errors.NotFound);
      await assert.rejects(() => Deno.stat(`${s.root}/opt/escaped`), Deno.errors.NotFound);
      await assert.rejects(() => Deno.lstat(`${s.root}/opt/cni/bin/escaped-link`), Deno.errors.NotFound);
      await assert.rejects(() => Deno.lstat(`${s.root}/opt/cni/bin/abs-link`), Deno.errors.NotFound);
      await assert.rejects(() => Deno.stat("/tmp/eksnode-evil-abs"), Deno.errors.NotFound);
      // No stamp: the next run tries (and refuses) again instead of trusting a partial extraction.
      const stamps = [];
      try {
        for await (const e of Deno.readDir(`${s.root}/var/lib/eksnode/extracted`)) stamps.push(e.name);
      } catch { /* no stamp dir at all */ }
      assert.deepEqual(stamps, [], label);
    } finally {
      await s.server.close();
      await Deno.remove(s.dir, { recursive: true });
    }
  }
});
