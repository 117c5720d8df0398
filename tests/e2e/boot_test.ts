/**
 * End to end: bake a real Debian root and boot it (`deno task test:e2e`; also part of `deno task test`).
 *
 * 1. A minimal Debian root with systemd (debootstrap, cached by its inputs: tests/e2e/debian_root.ts) is
 *    copied to a temp dir.
 * 2. `eksnode ami --root` bakes it from this machine (as a chroot builder does) against the loopback
 *    mirror, with `--package-manager apt` (apt has no install-root mode, so its package changes are
 *    notes; the root's packages come from debootstrap) and `--no-cache-images`. The mirror serves real
 *    programs: Debian's containerd and runc as the release tarball and binary, and the test kubelet
 *    (tests/e2e/fake_kubelet.js). The pause image is imported into the root's containerd store by a
 *    temporary containerd on this machine, standing in for steps 19–20 (tested with a registry by
 *    tests/ami_image_cache_test.ts), so sandbox-image.service finds it at boot.
 * 3. `systemd-nspawn -b` boots the root (tests/e2e/nspawn.ts); instance metadata and the EKS API are
 *    simulated inside the container's network namespace; `eksnode init` runs inside the booted system
 *    (installed by step 1 as /usr/bin/eksnode: main.ts under the Deno bound in read-only), so systemd
 *    itself does daemon-reload, enable and start. Asserted inside: units enabled, containerd active and
 *    answering, kubelet started with our flags, config and kubeconfig (the test kubelet checks them and
 *    stays up), the network sysctls applied by systemd-sysctl at boot, the modules-load file present.
 * 4. init again: 0 changes, and no unit restarted (same InvocationID and main PID).
 * Everything started (container, fakes, temporary containerd) is stopped and every mount under the
 * temp dir removed in `finally`, also when an assertion fails.
 */
import { tempDir } from "../temp.ts";
import assert from "node:assert/strict";
import { eksnode } from "../cli_run.ts";
import { startMirror } from "../fakes/mirror.ts";
import { makeTar } from "../fakes/tar_writer.ts";
import { onPath, sha256 } from "../helpers.ts";
import { KUBECONFIG, KUBELET_CONFIG } from "../../eks/node_paths.ts";
import { aptMirror, cachedRoot, copyRoot, INCLUDE, run, RUNTIME_BINARIES } from "./debian_root.ts";
import { boot, type Container, mountsUnder, unmountUnder, waitBooted } from "./nspawn.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Where the test's Deno, the repository and Deno's cache appear inside the container (read-only). */
const E2E = "/opt/e2e";
const SERVICES = [
  "containerd.service",
  "sandbox-image.service",
  "kubelet.service",
  "eksnode-mount-bpf-fs.service",
];

const TOOLS = ["debootstrap", "systemd-nspawn", "nsenter", "dpkg", "dpkg-query", "cp", "umount"];
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

Deno.test({
  name: `boot: a root baked by eksnode ami boots under systemd-nspawn and eksnode init starts its services${
    skip ? ` (not run: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const started = performance.now();
    const stamp = (what: string) =>
      console.log(`boot test: ${what} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
    const recipe = {
      suite: "bookworm",
      mirror: Deno.env.get("EKSNODE_E2E_DEBIAN_MIRROR") ?? await aptMirror(),
      include: INCLUDE,
    };
    const cached = await cachedRoot(recipe);
    stamp(
      cached.built
        ? `debootstrap built ${cached.dir} in ${cached.seconds.toFixed(0)}s`
        : `cached root ${cached.dir}`,
    );

    const tmp = await tempDir({ prefix: "eksnode-boot-" });
    const root = `${tmp}/root`;
    const machine = `eksnode-e2e-${crypto.randomUUID().slice(0, 8)}`;
    let container: Container | undefined;
    let cloud: Deno.ChildProcess | undefined;
    let cloudOut: ReadableStreamDefaultReader<string> | undefined;
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
    try {
      await copyRoot(cached.root, root);
      stamp("root copied");

      // Bake. /usr/bin/eksnode in the image runs this repository's main.ts with the bound-in Deno.
      await Deno.writeTextFile(`${tmp}/bake.toml`, mirror.bakeToml);
      await Deno.writeTextFile(
        `${tmp}/eksnode`,
        `#!/bin/sh\n# eksnode under test: this repository's main.ts, run by the Deno the boot test binds in\n` +
          `export DENO_DIR=${E2E}/deno-dir\nexec ${E2E}/deno run --allow-all --cached-only --quiet ${E2E}/src/main.ts "$@"\n`,
      );
      const bake = await eksnode([
        "ami",
        "--root",
        root,
        "--config",
        `${tmp}/bake.toml`,
        "--self",
        `${tmp}/eksnode`,
        "--package-manager",
        "apt",
        "--no-cache-images",
      ]);
      assert.equal(bake.code, 0, bake.stdout + bake.stderr);
      assert.match(bake.stdout, /ami: 37 steps, \d+ changes in/);
      // apt under --root: the package changes are notes naming the Debian packages.
      assert.match(bake.stdout, /package install iptables \(apt cannot install into --root/);
      stamp("baked");

      const unit = await Deno.readTextFile(`${root}/etc/systemd/system/sandbox-image.service`);
      // ExecStart=/usr/bin/eksnode pull-image --namespace k8s.io IMAGE: the image is the last word.
      const pause = /^ExecStart=(.*)$/m.exec(unit.replace(/\\\n\s*/g, " "))?.[1].trim().split(/\s+/).at(-1);
      assert.ok(pause, `no image in sandbox-image.service:\n${unit}`);
      await Deno.mkdir(`${tmp}/ctr`);
      await cacheImage(cached.bin, root, `${tmp}/ctr`, pause);
      stamp(`pause image ${pause} cached in the root's containerd store`);

      // Mount points for the read-only binds.
      await Deno.mkdir(`${root}${E2E}/src`, { recursive: true });
      await Deno.mkdir(`${root}${E2E}/deno-dir`, { recursive: true });
      await Deno.writeFile(`${root}${E2E}/deno`, new Uint8Array());
      // Every module main.ts can load must be in Deno's cache: the container has no network.
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
      container = await boot(root, machine, [
        { from: Deno.execPath(), to: `${E2E}/deno` },
        { from: REPO, to: `${E2E}/src` },
        { from: denoDir, to: `${E2E}/deno-dir` },
      ]);
      const c = container;
      const state = await waitBooted(c);
      const failed = (await c.exec(["systemctl", "--failed", "--plain", "--no-legend"])).stdout.trim();
      assert.equal(state, "running", `the baked root booted ${state}; failed units: ${failed}`);
      stamp(`booted (systemd inside: ${state})`);
      assert.equal(
        (await show(c, "containerd.service", ["ActiveState"])).ActiveState,
        "active",
        "enabled at bake",
      );

      // nspawn gives a container a /sys of its own without /sys/fs/bpf (a VM's kernel has it): the
      // directory is made so that eksnode-mount-bpf-fs.service can mount bpffs there (in the container's
      // mount namespace only). Nothing is mounted on it yet.
      await c.check([
        "sh",
        "-ec",
        "mount -o remount,rw /sys; mkdir -p /sys/fs/bpf; mount -o remount,ro /sys",
      ]);

      // The simulated cloud, inside the container's network namespace.
      cloud = new Deno.Command("nsenter", {
        args: [
          `--net=${c.netns}`,
          "--",
          Deno.execPath(),
          "run",
          "--allow-all",
          "--quiet",
          `${REPO}/tests/e2e/netns_cloud.ts`,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      cloudOut = cloud.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let first = "";
      while (!first.includes("\n")) {
        const { value, done } = await cloudOut.read();
        if (done) throw new Error(`the simulated cloud exited before printing its endpoints: ${first}`);
        first += value;
      }
      const cloudEnv = JSON.parse(first.split("\n")[0]) as Record<string, string>;

      const init = await c.exec(["eksnode", "init"], { env: cloudEnv, timeoutMs: 300_000 });
      assert.equal(init.code, 0, init.stdout + init.stderr);
      assert.match(init.stdout, /init: 9 steps, [1-9]\d* changes in/);
      stamp("eksnode init ran inside");

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
      let report:
        | { pid: number; flags: Record<string, string>; checked: string[]; problems: string[] }
        | undefined;
      const deadline = Date.now() + 60_000;
      while (!report) {
        const r = await c.exec(["cat", "/run/eksnode-e2e/kubelet.json"]);
        if (r.code === 0) report = JSON.parse(r.stdout);
        else if (Date.now() > deadline) {
          const status = await c.exec(["systemctl", "status", "--no-pager", "--lines=20", "kubelet.service"]);
          const journal = await c.exec(["journalctl", "--no-pager", "-n", "30", "-u", "kubelet.service"]);
          throw new Error(
            `kubelet wrote no report in 60s:\n${status.stdout}\n${journal.stdout}${journal.stderr}`,
          );
        } else await sleep(200);
      }
      assert.deepEqual(report.problems, [], "the test kubelet's checks");
      assert.equal(report.flags.config, KUBELET_CONFIG);
      assert.equal(report.flags.kubeconfig, KUBECONFIG);
      assert.match(
        report.flags["node-labels"] ?? "",
        /eksnode\/demo=true/,
        "NodeConfig kubelet flags reach kubelet",
      );
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

      // Again: nothing changes, nothing restarts.
      const props = ["InvocationID", "MainPID", "ActiveEnterTimestampMonotonic"];
      const before = await Promise.all(SERVICES.map((u) => show(c, u, props)));
      const again = await c.exec(["eksnode", "init"], { env: cloudEnv, timeoutMs: 300_000 });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /init: 9 steps, 0 changes in/);
      const after = await Promise.all(SERVICES.map((u) => show(c, u, props)));
      assert.deepEqual(after, before, "no unit restarted by the second init");
      const report2 = JSON.parse(await c.check(["cat", "/run/eksnode-e2e/kubelet.json"]));
      assert.equal(report2.pid, report.pid, "kubelet was not restarted");
      stamp("second init: 0 changes, no restart");

      // A system that mounts bpffs itself: the unit is inactive (its condition skips it) while
      // /sys/fs/bpf is mounted. Stopping the oneshot leaves the mount (it has no ExecStop), which is
      // that state; init must see the mount, not the inactive unit, and change nothing.
      await c.check(["systemctl", "stop", "eksnode-mount-bpf-fs.service"]);
      assert.match(await c.check(["findmnt", "--noheadings", "--output=FSTYPE", "/sys/fs/bpf"]), /^bpf$/m);
      const third = await c.exec(["eksnode", "init"], { env: cloudEnv, timeoutMs: 300_000 });
      assert.equal(third.code, 0, third.stdout + third.stderr);
      assert.match(third.stdout, /init: 9 steps, 0 changes in/, "bpffs already mounted: nothing to start");
      stamp("third init with bpffs mounted and its unit inactive: 0 changes");
    } catch (err) {
      if (container) {
        const journal = await container.exec(["journalctl", "--boot", "--no-pager", "--lines=60"]).catch(() =>
          undefined
        );
        console.error(
          `boot test failed; the container's journal (last lines):\n${journal?.stdout ?? "(none)"}`,
        );
      }
      throw err;
    } finally {
      if (cloud) {
        await cloud.stdin.close().catch(() => {});
        const exited = await Promise.race([cloud.status.then(() => true), sleep(5_000).then(() => false)]);
        if (!exited) cloud.kill("SIGKILL");
        await cloudOut?.cancel().catch(() => {});
        await cloud.status;
      }
      await container?.stop();
      await mirror.close();
      const left = await unmountUnder(tmp);
      if ((await mountsUnder(tmp)).length === 0) await Deno.remove(tmp, { recursive: true });
      else console.error(`boot test: mounts left under ${tmp}, not removed: ${left.join(", ")}`);
      stamp("cleaned up");
    }
  },
});
