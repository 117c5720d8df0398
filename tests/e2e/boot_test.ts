/**
 * End to end: bake a real Debian root and boot it (`deno task test:e2e`; also part of `deno task test`).
 *
 * 1. A minimal Debian root with systemd and openssh-server (debootstrap, cached by its inputs: tests/e2e/debian_root.ts) is
 *    copied to a temp dir.
 * 2. `eksnode ami` bakes it from inside, on `/`, with no `--root` anywhere, as users run it in a container
 *    build or a chroot builder: `systemd-nspawn` without booting (systemd is not PID 1 inside, so no
 *    daemon-reload; a container, so no modprobe and no swapoff: notes with the reason), on this machine's
 *    network, with `--package-manager apt` (Debian's real apt: `apt-get update`, then awscli installed
 *    from Debian's archive) against the loopback mirror and `--no-cache-images`. The mirror serves real
 *    programs: Debian's containerd and runc as the release tarball and binary, and the test kubelet
 *    (tests/e2e/fake_kubelet.js). The pause image is imported into the root's containerd store by a
 *    temporary containerd on this machine, standing in for steps 19–20 (tested with a registry by
 *    tests/steps/ami/ami_image_cache_test.ts), so sandbox-image.service finds it at boot. The bake ends with
 *    `--hygiene` (step 38), as the Packer example's does: the root's machine id (systemd's postinst made
 *    it) is emptied, the SSH host keys (openssh-server's postinst made them) removed, and, Debian's sshd
 *    making no keys at boot, eksnode-ssh-host-keys.service enabled. A second bake the same way makes 0
 *    changes (and refreshes no package lists: nothing is to be installed).
 * 3. The simulated cloud (tests/e2e/netns_cloud.ts) makes a network namespace and serves instance
 *    metadata there at 169.254.169.254:80, with user data holding only a NodeConfig (what managed node
 *    groups and Karpenter write for AL2023). `systemd-nspawn -b` boots the root into that namespace
 *    (tests/e2e/nspawn.ts). Nothing runs `eksnode init` by hand: the boot units the bake enabled
 *    (eksnode-config.service, eksnode-run.service) do, and systemd itself does daemon-reload, enable and
 *    start. Asserted inside: both units succeeded (the config phase with changes, the run phase too),
 *    /etc/environment's proxy reached both, units enabled, containerd active and answering, kubelet
 *    started with the NodeConfig's flags, config and kubeconfig (the test kubelet checks them and stays
 *    up), the network sysctls applied by systemd-sysctl at boot, the modules-load file present. What
 *    hygiene removed, the first boot made anew: a machine id other than the builder's (written to disk),
 *    SSH host keys other than the builder's, and sshd running with them.
 * 4. `eksnode init` by hand, and /etc/eks/bootstrap.sh with the NodeConfig's settings as flags (what user
 *    data calling either does): 0 changes, no unit restarted (same InvocationID and main PID); again with
 *    the bpffs unit stopped and bpffs mounted.
 * 5. A reboot, with a stand-in cloud-final.service that runs `eksnode init` as a user data script would:
 *    the config phase, that init and the run phase each make 0 changes; kubelet runs again, with the
 *    same machine id and host keys as at the first boot (made once, not at every boot).
 * Everything started (container, fakes, temporary containerd) is stopped and every mount under the
 * temp dir removed in `finally`, also when an assertion fails.
 */
import { tempDir } from "../../fakes/temp.ts";
import assert from "node:assert/strict";
import { startMirror } from "../../fakes/mirror.ts";
import { makeTar } from "../../fakes/tar_writer.ts";
import { onPath, sha256 } from "../support/helpers.ts";
import { BOOT_CONFIG_SERVICE, BOOT_RUN_SERVICE, KUBECONFIG, KUBELET_CONFIG } from "../../eks/paths/node.ts";
import { SSH_KEYGEN_UNIT } from "../../eks/image/hygiene.ts";
import { TEST_CA_PEM } from "../../fakes/node_settings.ts";
import { bookwormRecipe, cachedRoot, copyRoot, run, RUNTIME_BINARIES } from "./debian_root.ts";
import { boot, type Container, mountsUnder, runInside, unmountUnder, waitBooted } from "./nspawn.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Where the test's Deno, the repository and Deno's cache appear inside the container (read-only). */
const E2E = "/opt/e2e";
const SERVICES = [
  "containerd.service",
  "sandbox-image.service",
  "kubelet.service",
  "eksnode-mount-bpf-fs.service",
  BOOT_CONFIG_SERVICE,
  BOOT_RUN_SERVICE,
];

const TOOLS = [
  "debootstrap",
  "systemd-nspawn",
  "nsenter",
  "unshare",
  "ip",
  "dpkg",
  "dpkg-query",
  "cp",
  "umount",
];

/**
 * User data as a managed node group's launch template writes it for AL2023: MIME multipart with one
 * NodeConfig part that names the cluster, its endpoint, CA and service CIDR (so no EKS API call), and a
 * kubelet flag the test kubelet reports back.
 */
const USER_DATA = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="//"

--//
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: boot-cluster
    apiServerEndpoint: https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com
    certificateAuthority: ${btoa(TEST_CA_PEM)}
    cidr: 10.100.0.0/16
  kubelet:
    flags:
      - --node-labels=eksnode/boot=units

--//--
`;

/**
 * Stand-ins for what a VM has and a container lacks. nspawn gives the container a /sys of its own
 * without /sys/fs/bpf (a VM's kernel has it): a oneshot makes the directory before the bpffs unit mounts
 * bpffs there (in the container's mount namespace only).
 */
const SYS_FS_BPF_UNIT = `[Unit]
Description=boot test: /sys/fs/bpf, as a VM kernel's sysfs has it
DefaultDependencies=no
After=local-fs.target
Before=eksnode-mount-bpf-fs.service ${BOOT_RUN_SERVICE}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -ec "mount -o remount,rw /sys; mkdir -p /sys/fs/bpf; mount -o remount,ro /sys"

[Install]
WantedBy=multi-user.target
`;

/**
 * cloud-init's final stage as far as the boot units care: it runs the user data's scripts, here one
 * that calls eksnode init itself (as user data written for other images does), between the two phases.
 */
const CLOUD_FINAL_UNIT = `[Unit]
Description=boot test: cloud-final stand-in running a user data script that calls eksnode init
After=${BOOT_CONFIG_SERVICE} network-online.target

[Service]
Type=oneshot
# The site's settings (here the EC2 endpoint) reach the script as a login environment would (pam_env).
EnvironmentFile=-/etc/environment
ExecStart=/usr/bin/eksnode init

[Install]
WantedBy=multi-user.target
`;
const missing = TOOLS.filter((t) => !onPath(t));
const isRoot = Deno.uid() === 0;
const skip = Deno.build.os !== "linux"
  ? "not Linux"
  : !isRoot
  ? "needs root (debootstrap, systemd-nspawn)"
  : missing.length
  ? `${missing.join(", ")} not installed (apt-get install debootstrap systemd-container)`
  : undefined;
if (skip) console.log(`boot test not run: ${skip}; the baked root was not booted`);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `docker save` archive of a one-layer image named `ref` (enough for `ctr images import`). */
async function imageArchive(ref: string): Promise<Uint8Array> {
  const layer = await makeTar([{ name: "pause", data: "#!/bin/sh\n# stand-in pause\n", mode: 0o755 }], false);
  const diffId = `sha256:${sha256(layer)}`;
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: Deno.build.arch === "aarch64" ? "arm64" : "amd64",
    os: "linux",
    config: { Entrypoint: ["/pause"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
  }));
  const configName = `${sha256(config)}.json`;
  const manifest = [{ Config: configName, RepoTags: [ref], Layers: ["layer/layer.tar"] }];
  return await makeTar([
    { name: configName, data: config, mode: 0o644 },
    { name: "layer/", type: "dir" },
    { name: "layer/layer.tar", data: layer, mode: 0o644 },
    { name: "manifest.json", data: JSON.stringify(manifest), mode: 0o644 },
  ], false);
}

/**
 * Imports `archive` as image `ref` into the containerd store of `root` (its /var/lib/containerd), with
 * a containerd from `bin` started for this only (own state dir and socket under `work`).
 */
async function cacheImage(bin: string, root: string, work: string, ref: string): Promise<void> {
  const sock = `${work}/containerd.sock`;
  await Deno.writeTextFile(
    `${work}/containerd.toml`,
    [
      "version = 2",
      `root = "${root}/var/lib/containerd"`,
      `state = "${work}/containerd-state"`,
      `disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt"]`,
      "[grpc]",
      `address = "${sock}"`,
      "",
    ].join("\n"),
  );
  await Deno.writeFile(`${work}/pause.tar`, await imageArchive(ref));
  const daemon = new Deno.Command(`${bin}/containerd`, {
    args: ["--config", `${work}/containerd.toml`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const ctr = (...args: string[]) =>
      run([`${bin}/ctr`, "--address", sock, "--namespace", "k8s.io", ...args], "ctr", 60_000);
    const deadline = Date.now() + 30_000;
    while (!(await Deno.stat(sock).then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error("the temporary containerd did not open its socket in 30s");
      await sleep(100);
    }
    await ctr("images", "import", "--no-unpack", `${work}/pause.tar`);
    assert.match(await ctr("images", "ls", "--quiet"), new RegExp(`^${escape(ref)}$`, "m"));
  } finally {
    daemon.kill("SIGTERM");
    await daemon.stderr.cancel();
    await daemon.status;
  }
}

/** The public SSH host keys under `root`: key type (file name) → key, without the comment. */
async function hostKeys(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names: string[] = [];
  for await (const e of Deno.readDir(`${root}/etc/ssh`)) {
    if (/^ssh_host_.*_key\.pub$/.test(e.name)) names.push(e.name);
  }
  for (const n of names.sort()) {
    out.set(n, (await Deno.readTextFile(`${root}/etc/ssh/${n}`)).trim().split(/\s+/).slice(0, 2).join(" "));
  }
  return out;
}

/** `systemctl show` properties of a unit inside. */
async function show(c: Container, unit: string, props: string[]): Promise<Record<string, string>> {
  const out = await c.check(["systemctl", "show", unit, ...props.map((p) => `--property=${p}`)]);
  return Object.fromEntries(
    out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** key → value of the sysctl files the bake wrote (later files win, as systemd-sysctl applies them). */
async function bakedSysctls(root: string): Promise<Map<string, string>> {
  const files = ["/etc/sysctl.d/99-amazon.conf", "/etc/sysctl.d/99-kubernetes-cri.conf", "/etc/sysctl.conf"];
  const out = new Map<string, string>();
  for (const f of files) {
    for (const line of (await Deno.readTextFile(`${root}${f}`)).split("\n")) {
      const m = /^\s*-?([a-z0-9_./-]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) out.set(m[1], m[2]);
    }
  }
  return out;
}

/** The summary line `init: N steps, M changes` of a unit's run at this boot, from its journal. */
async function unitSummary(
  c: Container,
  unit: string,
): Promise<{ steps: number; changes: number; log: string }> {
  const log = await c.check(["journalctl", "--boot", "--unit", unit, "--output=cat", "--no-pager"]);
  const m = [...log.matchAll(/init: (\d+) steps?, (\d+) changes? in/g)].at(-1);
  assert.ok(m, `no init summary in the journal of ${unit}:\n${log}`);
  return { steps: Number(m[1]), changes: Number(m[2]), log };
}

/** The unit ran at this boot, to its end, successfully (a oneshot without RemainAfterExit is inactive after). */
async function assertRan(c: Container, unit: string): Promise<void> {
  const p = await show(c, unit, ["Result", "ExecMainStatus", "ExecMainExitTimestampMonotonic"]);
  assert.equal(p.Result, "success", `${unit}: ${JSON.stringify(p)}`);
  assert.equal(p.ExecMainStatus, "0", `${unit}: ${JSON.stringify(p)}`);
  assert.ok(Number(p.ExecMainExitTimestampMonotonic) > 0, `${unit} ran at this boot: ${JSON.stringify(p)}`);
}

/** Waits for the test kubelet's report of this boot (it checks its flags and files and stays up). */
async function kubeletReport(c: Container) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await c.exec(["cat", "/run/eksnode-e2e/kubelet.json"]);
    if (r.code === 0) {
      return JSON.parse(r.stdout) as {
        pid: number;
        flags: Record<string, string>;
        checked: string[];
        problems: string[];
      };
    }
    if (Date.now() > deadline) {
      const status = await c.exec(["systemctl", "status", "--no-pager", "--lines=20", "kubelet.service"]);
      const journal = await c.exec(["journalctl", "--no-pager", "-n", "30", "-u", "kubelet.service"]);
      throw new Error(
        `kubelet wrote no report in 60s:\n${status.stdout}\n${journal.stdout}${journal.stderr}`,
      );
    }
    await sleep(200);
  }
}

Deno.test({
  name:
    `boot: a root baked by eksnode ami boots under systemd-nspawn and joins by itself with NodeConfig user data${
      skip ? ` (not run: ${skip})` : ""
    }`,
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const started = performance.now();
    const stamp = (what: string) =>
      console.log(`boot test: ${what} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
    const cached = await cachedRoot(await bookwormRecipe());
    stamp(
      cached.built
        ? `debootstrap built ${cached.dir} in ${cached.seconds.toFixed(0)}s`
        : `cached root ${cached.dir}`,
    );

    const tmp = await tempDir({ prefix: "eksnode-boot-" });
    const root = `${tmp}/root`;
    const machine = () => `eksnode-e2e-${crypto.randomUUID().slice(0, 8)}`;
    let container: Container | undefined;
    let cloud: Deno.ChildProcess | undefined;
    let cloudOut: ReadableStreamDefaultReader<string> | undefined;
    let cloudIn: WritableStreamDefaultWriter<Uint8Array> | undefined;
    const mirror = await startMirror({
      replace: {
        kubelet: await Deno.readFile(new URL("./fake_kubelet.js", import.meta.url)),
        runc: await Deno.readFile(`${cached.bin}/runc`),
        containerd: await makeTar([
          { name: "bin/", type: "dir" },
          ...await Promise.all(
            Object.keys(RUNTIME_BINARIES).filter((n) => n !== "runc").map(async (n) => ({
              name: `bin/${n}`,
              data: await Deno.readFile(`${cached.bin}/${n}`),
              mode: 0o755,
            })),
          ),
        ]),
      },
    });
    /** One JSON line from the simulated cloud. */
    const cloudLine = async (): Promise<Record<string, unknown>> => {
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await cloudOut!.read();
        if (done) throw new Error(`the simulated cloud exited: ${text}`);
        text += value;
      }
      return JSON.parse(text.split("\n")[0]);
    };
    try {
      await copyRoot(cached.root, root);
      stamp("root copied");
      // What the build instance has that no node may share: the machine id and SSH host keys the Debian
      // packages' postinsts made (hygiene removes them; the first boot must make its own).
      const builderId = (await Deno.readTextFile(`${root}/etc/machine-id`)).trim();
      assert.match(builderId, /^[0-9a-f]{32}$/, "the builder's machine id");
      const builderKeys = await hostKeys(root);
      assert.ok(builderKeys.size >= 2, `the builder's SSH host keys: ${[...builderKeys.keys()].join(", ")}`);

      // Mount points for the read-only binds.
      await Deno.mkdir(`${root}${E2E}/src`, { recursive: true });
      await Deno.mkdir(`${root}${E2E}/deno-dir`, { recursive: true });
      await Deno.writeFile(`${root}${E2E}/deno`, new Uint8Array());
      // Every module main.ts can load must be in Deno's cache: the booted container has no network.
      await run(
        [
          Deno.execPath(),
          "cache",
          "--frozen",
          "--quiet",
          `${REPO}/main.ts`,
          `${REPO}/tests/e2e/fake_kubelet.js`,
        ],
        "deno cache",
        300_000,
      );
      const denoDir = JSON.parse(await run([Deno.execPath(), "info", "--json"], "deno info"))
        .denoDir as string;
      const binds = [
        { from: Deno.execPath(), to: `${E2E}/deno` },
        { from: REPO, to: `${E2E}/src` },
        { from: denoDir, to: `${E2E}/deno-dir` },
      ];

      // Bake from inside, on /. The eksnode the image gets (--self, step 1 installs it as /usr/bin/eksnode)
      // runs this repository's main.ts with the bound-in Deno.
      await Deno.writeTextFile(`${root}${E2E}/bake.toml`, mirror.bakeToml);
      await Deno.writeTextFile(
        `${root}${E2E}/eksnode`,
        `#!/bin/sh\n# eksnode under test: this repository's main.ts, run by the Deno the boot test binds in\n` +
          `export DENO_DIR=${E2E}/deno-dir\nexec ${E2E}/deno run --allow-all --cached-only --quiet ${E2E}/src/main.ts "$@"\n`,
        { mode: 0o755 },
      );
      const bakeArgs = [
        "ami",
        "--config",
        `${E2E}/bake.toml`,
        "--self",
        `${E2E}/eksnode`,
        "--package-manager",
        "apt",
        "--no-cache-images",
        "--hygiene",
      ];
      const bake = await runInside(root, [`${E2E}/eksnode`, ...bakeArgs], binds);
      assert.equal(bake.code, 0, bake.stdout + bake.stderr);
      assert.match(bake.stdout, /ami: 38 steps, \d+ changes in/);
      // Real apt: the lists refreshed before the first install, awscli installed from Debian's archive.
      assert.match(
        bake.stdout,
        /package install awscli via apt-get install -y --no-install-recommends awscli \(after apt-get update, once a run\)/,
      );
      const dpkgStatus = (pkg: string) =>
        run(["dpkg-query", `--root=${root}`, "-W", "-f=${Status}", pkg], "dpkg-query").catch(() => "");
      assert.equal(await dpkgStatus("awscli"), "install ok installed");
      assert.equal(await Deno.readLink(`${root}/etc/alternatives/iptables`), "/usr/sbin/iptables-legacy");
      // What a container without systemd cannot do: notes with the reason, not failures.
      for (
        const note of [
          /modprobe br_netfilter skipped: in a container \(systemd-nspawn\)/,
          /systemctl daemon-reload skipped: systemd is not running here \(a container \(systemd-nspawn\): no \/run\/systemd\/system\)/,
          /swapoff -a skipped: in a container \(systemd-nspawn\): swap belongs to the host/,
        ]
      ) assert.match(bake.stdout, note);
      // What it can: the units enabled offline (their links), the modules-load file.
      for (
        const u of ["containerd.service", "sandbox-image.service", BOOT_CONFIG_SERVICE, BOOT_RUN_SERVICE]
      ) {
        assert.ok(
          (await Deno.lstat(`${root}/etc/systemd/system/multi-user.target.wants/${u}`).catch(() => null))
            ?.isSymlink,
          `${u} enabled by the bake inside`,
        );
      }
      assert.match(await Deno.readTextFile(`${root}/etc/modules-load.d/containerd.conf`), /^br_netfilter$/m);
      // Hygiene: the machine id emptied (systemd makes one at first boot), the host keys gone, and the unit
      // that makes new ones enabled (Debian's ssh.service would fail without keys).
      assert.equal((await Deno.stat(`${root}/etc/machine-id`)).size, 0, "machine id emptied by hygiene");
      // Debian's dbus keeps a copy, which systemd would take as the id at first boot.
      assert.equal(await Deno.lstat(`${root}/var/lib/dbus/machine-id`).catch(() => undefined), undefined);
      assert.deepEqual([...(await hostKeys(root)).keys()], [], "SSH host keys removed by hygiene");
      assert.ok(
        (await Deno.lstat(`${root}/etc/systemd/system/multi-user.target.wants/${SSH_KEYGEN_UNIT}`)).isSymlink,
        `${SSH_KEYGEN_UNIT} enabled by hygiene`,
      );
      stamp("baked from inside (nspawn without boot, real apt), hygiene last");
      // The bake again, the same way (the image's own /usr/bin/eksnode now): everything is in place.
      // Without this machine's resolver: nspawn would copy it into the root, where hygiene found none after
      // the first bake and would remove it again. Nothing is downloaded this time.
      const rebake = await runInside(root, ["eksnode", ...bakeArgs], binds, { resolvConf: "off" });
      assert.equal(rebake.code, 0, rebake.stdout + rebake.stderr);
      assert.match(rebake.stdout, /ami: 38 steps, 0 changes in/, rebake.stdout);
      assert.doesNotMatch(rebake.stdout, /apt-get update/, "nothing to install: no refresh");
      stamp("eksnode ami again inside: 0 changes");

      const unit = await Deno.readTextFile(`${root}/etc/systemd/system/sandbox-image.service`);
      // ExecStart=/usr/bin/eksnode pull-image --namespace k8s.io IMAGE: the image is the last word.
      const pause = /^ExecStart=(.*)$/m.exec(unit.replace(/\\\n\s*/g, " "))?.[1].trim().split(/\s+/).at(-1);
      assert.ok(pause, `no image in sandbox-image.service:\n${unit}`);
      await Deno.mkdir(`${tmp}/ctr`);
      await cacheImage(cached.bin, root, `${tmp}/ctr`, pause);
      stamp(`pause image ${pause} cached in the root's containerd store`);

      // The simulated cloud, in a network namespace of its own that the container boots into.
      cloud = new Deno.Command("unshare", {
        args: [
          "--net",
          "--",
          Deno.execPath(),
          "run",
          "--allow-all",
          "--quiet",
          `${REPO}/tests/e2e/netns_cloud.ts`,
        ],
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          DENO_DIR: denoDir,
          EKSNODE_E2E_USER_DATA: USER_DATA,
        },
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      cloudOut = cloud.stdout.pipeThrough(new TextDecoderStream()).getReader();
      cloudIn = cloud.stdin.getWriter();
      const { proxy, ec2 } = await cloudLine() as { proxy: string; ec2: string };
      const stats = async () => {
        await cloudIn!.write(new TextEncoder().encode("stats\n"));
        return await cloudLine() as { proxied?: Record<string, number>; ec2?: string[] };
      };
      const proxied = async () => (await stats()).proxied ?? {};

      // What the image gets from its environment rather than from eksnode: /sys/fs/bpf (see above), and
      // a proxy in /etc/environment, as some sites set one for every program.
      await Deno.writeTextFile(`${root}/etc/systemd/system/e2e-sys-fs-bpf.service`, SYS_FS_BPF_UNIT);
      await Deno.symlink(
        "/etc/systemd/system/e2e-sys-fs-bpf.service",
        `${root}/etc/systemd/system/multi-user.target.wants/e2e-sys-fs-bpf.service`,
      );
      // The EC2 API at the simulated cloud's endpoint (a VPC endpoint, as far as the node can tell).
      await Deno.writeTextFile(
        `${root}/etc/environment`,
        `HTTP_PROXY=${proxy}\nAWS_ENDPOINT_URL_EC2=${ec2}\n`,
      );

      // First boot. Nothing runs eksnode init by hand.
      container = await boot(root, machine(), binds, { netnsPath: `/proc/${cloud.pid}/ns/net` });
      let c = container;
      let state = await waitBooted(c);
      let failed = (await c.exec(["systemctl", "--failed", "--plain", "--no-legend"])).stdout.trim();
      assert.equal(state, "running", `the baked root booted ${state}; failed units: ${failed}`);
      stamp(`booted (systemd inside: ${state})`);

      await assertRan(c, BOOT_CONFIG_SERVICE);
      await assertRan(c, BOOT_RUN_SERVICE);
      const config1 = await unitSummary(c, BOOT_CONFIG_SERVICE);
      const run1 = await unitSummary(c, BOOT_RUN_SERVICE);
      assert.equal(config1.steps, 8, "the config phase: steps 1-8");
      assert.ok(config1.changes > 0, config1.log);
      assert.equal(run1.steps, 1, "the run phase: step 9");
      assert.ok(run1.changes > 0, `the run phase enables and starts the services:\n${run1.log}`);
      assert.match(run1.log, /configuration unchanged since \/run\/eks\/eksnode\/config\.json/);
      // Both phases read the user data through the proxy /etc/environment names.
      assert.equal((await proxied())["/latest/user-data"], 2, "user data read by both phases via the proxy");
      // The node is named by EC2's PrivateDnsName (kubelet 1.26+, no InstanceIdNodeName), asked with the
      // instance role's credentials from IMDS.
      assert.ok(
        (await stats()).ec2?.includes("DescribeInstances:200"),
        "DescribeInstances answered for the node name",
      );
      stamp(`the boot units joined the node: config ${config1.changes} changes, run ${run1.changes}`);

      // Units enabled and started by systemd inside.
      const enabled = (await c.exec(["systemctl", "is-enabled", ...SERVICES])).stdout.trim().split("\n");
      assert.deepEqual(enabled, SERVICES.map(() => "enabled"), `is-enabled ${SERVICES.join(" ")}`);
      const containerd = await show(c, "containerd.service", ["ActiveState", "SubState", "FragmentPath"]);
      assert.deepEqual(containerd, {
        ActiveState: "active",
        SubState: "running",
        FragmentPath: "/etc/systemd/system/containerd.service",
      });
      // Real containerd answers on the socket our config names, and holds the pause image.
      const server = (await c.check(["ctr", "version"])).split("Server:")[1] ?? "";
      assert.match(
        server,
        new RegExp(`Revision:\\s+${escape(cached.versions.containerd)}\\s`),
        "ctr version",
      );
      const images = await c.check(["ctr", "--namespace", "k8s.io", "images", "ls", "--quiet"]);
      assert.match(images, new RegExp(`^${escape(pause)}$`, "m"));
      // init asked the running containerd its version (Debian's 1.x, though the bake recorded 2.1.4) and wrote
      // the schema it reads, with the base runtime spec it names; containerd's own dump has our sandbox image.
      const schema = cached.versions.containerd.startsWith("1.") ? 2 : 3;
      assert.match(
        await c.check(["cat", "/etc/containerd/config.toml"]),
        new RegExp(`^version = ${schema}$`, "m"),
      );
      assert.match(await c.check(["cat", "/etc/containerd/base-runtime-spec.json"]), /"RLIMIT_NOFILE"/);
      assert.match(await c.check(["containerd", "config", "dump"]), new RegExp(escape(pause)));
      assert.equal((await show(c, "sandbox-image.service", ["ActiveState"])).ActiveState, "active");

      // kubelet: running, and the test kubelet found its flags and files good.
      const report = await kubeletReport(c);
      assert.deepEqual(report.problems, [], "the test kubelet's checks");
      assert.equal(report.flags.config, KUBELET_CONFIG);
      assert.equal(report.flags.kubeconfig, KUBECONFIG);
      assert.match(report.flags["node-labels"] ?? "", /eksnode\/boot=units/, "the user data's kubelet flags");
      for (const check of ["config kind", "kubeconfig server", "kubeconfig CA", "containerd socket"]) {
        assert.ok(report.checked.includes(check), `kubelet checked ${check}: ${report.checked.join(", ")}`);
      }
      const kubelet = await show(c, "kubelet.service", ["ActiveState", "MainPID", "Slice"]);
      assert.equal(kubelet.ActiveState, "active");
      assert.equal(kubelet.Slice, "runtime.slice");
      // MainPID is in the container's PID namespace, as is the pid the kubelet reported.
      assert.equal(Number(kubelet.MainPID), report.pid);

      // Sysctls: systemd-sysctl applied the baked files at boot. Inside a container only the network
      // namespace's own keys can be set (the rest of /proc/sys belongs to this machine and is read-only).
      const wanted = await bakedSysctls(root);
      const applied: string[] = [];
      const notHere: string[] = [];
      for (const [key, value] of wanted) {
        const path = `/proc/sys/${key.replaceAll(".", "/")}`;
        const writable = (await c.exec(["test", "-w", path])).code === 0;
        if (!key.startsWith("net.") || !writable) {
          notHere.push(key);
          continue;
        }
        const now = (await c.check(["sysctl", "--values", key])).trim().replace(/\s+/g, " ");
        assert.equal(now, value.replace(/\s+/g, " "), `sysctl ${key} inside the booted root`);
        applied.push(key);
      }
      for (const key of ["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"]) {
        assert.ok(
          applied.includes(key),
          `${key} applied (applied: ${applied.join(", ")}; not settable here: ${notHere.join(", ")})`,
        );
      }
      console.log(
        `boot test: sysctls applied and checked inside: ${applied.join(", ")}; not settable in a container: ${
          notHere.join(", ")
        }`,
      );
      const sysctlUnit = await show(c, "systemd-sysctl.service", ["Result", "ConditionResult"]);
      assert.deepEqual(sysctlUnit, { Result: "success", ConditionResult: "yes" });

      assert.match(await c.check(["findmnt", "--noheadings", "--output=FSTYPE", "/sys/fs/bpf"]), /^bpf$/m);

      // modules-load: the file is there; systemd-modules-load needs CAP_SYS_MODULE, which no container has.
      const modules = await c.check(["cat", "/etc/modules-load.d/containerd.conf"]);
      assert.match(modules, /^overlay$/m);
      assert.match(modules, /^br_netfilter$/m);

      // What hygiene removed, made anew by this boot: the node's own machine id and SSH host keys.
      const bootId = (await c.check(["cat", "/etc/machine-id"])).trim();
      assert.match(bootId, /^[0-9a-f]{32}$/, "a machine id generated at first boot");
      assert.notEqual(bootId, builderId, "not the builder's machine id");
      await assertRan(c, SSH_KEYGEN_UNIT);
      const bootKeys = await hostKeys(root);
      assert.deepEqual(
        [...bootKeys.keys()],
        [...builderKeys.keys()],
        "the same key types as the package made",
      );
      for (const [type, key] of bootKeys) assert.notEqual(key, builderKeys.get(type), `${type}: a new key`);
      const ssh = await show(c, "ssh.service", ["ActiveState", "SubState"]);
      assert.deepEqual(ssh, { ActiveState: "active", SubState: "running" }, "sshd started with the new keys");
      stamp(
        `first boot: machine id ${bootId.slice(0, 8)}…, ${bootKeys.size} new SSH host keys, sshd running`,
      );

      // eksnode init by hand (user data calling it, or /etc/eks/bootstrap.sh): nothing changes, nothing restarts.
      const props = ["InvocationID", "MainPID", "ActiveEnterTimestampMonotonic"];
      const before = await Promise.all(SERVICES.map((u) => show(c, u, props)));
      // By hand, with the site's EC2 endpoint (the boot units read it from /etc/environment).
      const byHand = { env: { AWS_ENDPOINT_URL_EC2: ec2 }, timeoutMs: 300_000 };
      const again = await c.exec(["eksnode", "init"], byHand);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /init: 9 steps, 0 changes in/);
      const after = await Promise.all(SERVICES.map((u) => show(c, u, props)));
      assert.deepEqual(after, before, "no unit restarted by init");
      // And through the bootstrap.sh shim with the NodeConfig's settings as flags, as AL2-style user data
      // calls it: the same node, so nothing changes either.
      const shim = await c.exec([
        "/etc/eks/bootstrap.sh",
        "boot-cluster",
        "--apiserver-endpoint",
        "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
        "--b64-cluster-ca",
        btoa(TEST_CA_PEM),
        "--service-ipv4-cidr",
        "10.100.0.0/16",
        "--kubelet-extra-args",
        "--node-labels=eksnode/boot=units",
      ], byHand);
      assert.equal(shim.code, 0, shim.stdout + shim.stderr);
      assert.match(
        shim.stdout,
        /init: 9 steps, 0 changes in/,
        `bootstrap.sh with the same settings:\n${shim.stdout}`,
      );
      assert.deepEqual(
        await Promise.all(SERVICES.map((u) => show(c, u, props))),
        before,
        "no unit restarted",
      );
      const report2 = JSON.parse(await c.check(["cat", "/run/eksnode-e2e/kubelet.json"]));
      assert.equal(report2.pid, report.pid, "kubelet was not restarted");
      stamp("eksnode init by hand and /etc/eks/bootstrap.sh with the same settings: 0 changes, no restart");

      // A system that mounts bpffs itself: the unit is inactive (its condition skips it) while
      // /sys/fs/bpf is mounted. Stopping the oneshot leaves the mount (it has no ExecStop), which is
      // that state; init must see the mount, not the inactive unit, and change nothing.
      await c.check(["systemctl", "stop", "eksnode-mount-bpf-fs.service"]);
      assert.match(await c.check(["findmnt", "--noheadings", "--output=FSTYPE", "/sys/fs/bpf"]), /^bpf$/m);
      const third = await c.exec(["eksnode", "init"], byHand);
      assert.equal(third.code, 0, third.stdout + third.stderr);
      assert.match(third.stdout, /init: 9 steps, 0 changes in/, "bpffs already mounted: nothing to start");
      stamp("init with bpffs mounted and its unit inactive: 0 changes");

      // Reboot, with user data that also calls eksnode init from cloud-init's final stage.
      await container.stop();
      container = undefined;
      // systemd committed the id it generated to disk (the file was empty, /etc writable).
      assert.equal((await Deno.readTextFile(`${root}/etc/machine-id`)).trim(), bootId, "machine id on disk");
      await Deno.writeTextFile(`${root}/etc/systemd/system/cloud-final.service`, CLOUD_FINAL_UNIT);
      await Deno.symlink(
        "/etc/systemd/system/cloud-final.service",
        `${root}/etc/systemd/system/multi-user.target.wants/cloud-final.service`,
      );
      container = await boot(root, machine(), binds, { netnsPath: `/proc/${cloud.pid}/ns/net` });
      c = container;
      state = await waitBooted(c);
      failed = (await c.exec(["systemctl", "--failed", "--plain", "--no-legend"])).stdout.trim();
      assert.equal(state, "running", `the reboot came up ${state}; failed units: ${failed}`);
      for (const u of [BOOT_CONFIG_SERVICE, "cloud-final.service", BOOT_RUN_SERVICE]) await assertRan(c, u);
      const config2 = await unitSummary(c, BOOT_CONFIG_SERVICE);
      const final2 = await unitSummary(c, "cloud-final.service");
      const run2 = await unitSummary(c, BOOT_RUN_SERVICE);
      assert.deepEqual(
        [config2.steps, config2.changes],
        [8, 0],
        `config phase after a reboot:\n${config2.log}`,
      );
      assert.deepEqual([final2.steps, final2.changes], [9, 0], `user data's eksnode init:\n${final2.log}`);
      assert.deepEqual([run2.steps, run2.changes], [1, 0], `run phase after a reboot:\n${run2.log}`);
      // The run phase came after cloud-final, as ordered.
      const exited = async (u: string) =>
        Number((await show(c, u, ["ExecMainExitTimestampMonotonic"])).ExecMainExitTimestampMonotonic);
      assert.ok(
        await exited("cloud-final.service") < await exited(BOOT_RUN_SERVICE),
        "run phase after cloud-final",
      );
      const report3 = await kubeletReport(c);
      assert.deepEqual(report3.problems, [], "the test kubelet's checks after the reboot");
      assert.equal((await show(c, "kubelet.service", ["ActiveState"])).ActiveState, "active");
      // The node keeps its identity: same machine id, same host keys (ssh-keygen -A makes only missing ones).
      assert.equal((await c.check(["cat", "/etc/machine-id"])).trim(), bootId, "machine id after the reboot");
      assert.deepEqual(await hostKeys(root), bootKeys, "SSH host keys after the reboot");
      stamp("reboot: config phase, user data's init and run phase each 0 changes; kubelet active");
    } catch (err) {
      if (container) {
        const journal = await container.exec(["journalctl", "--boot", "--no-pager", "--lines=80"]).catch(() =>
          undefined
        );
        console.error(
          `boot test failed; the container's journal (last lines):\n${journal?.stdout ?? "(none)"}`,
        );
      }
      throw err;
    } finally {
      await container?.stop();
      if (cloud) {
        await cloudIn?.close().catch(() => {});
        const exited = await Promise.race([cloud.status.then(() => true), sleep(5_000).then(() => false)]);
        if (!exited) cloud.kill("SIGKILL");
        await cloudOut?.cancel().catch(() => {});
        await cloud.status;
      }
      await mirror.close();
      const left = await unmountUnder(tmp);
      if ((await mountsUnder(tmp)).length === 0) await Deno.remove(tmp, { recursive: true });
      else console.error(`boot test: mounts left under ${tmp}, not removed: ${left.join(", ")}`);
      stamp("cleaned up");
    }
  },
});
