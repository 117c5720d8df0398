/**
 * lib/place.ts: what a place can do, judged from its facts (every kind of place, without being one), the
 * facts as read on `/` with a given environment, and what the steps make of it on `/` in a container:
 * notes with the reason instead of modprobe, daemon-reload and swapoff. lib/packages.ts: the package
 * metadata is refreshed once, before the first install of a run, and not at all when nothing is installed.
 */
import assert from "node:assert/strict";
import { amiContext } from "../../cli/ami.ts";
import { Host } from "../../lib/host.ts";
import { memoryLogger } from "../../lib/log.ts";
import { packageInstalled, packageRemoved } from "../../lib/packages.ts";
import {
  chrootByMountinfo,
  containerFromCgroup,
  judgePlace,
  NOT_RUNNING_SYSTEM,
  type PlaceFacts,
  placeOf,
  readPlaceFacts,
} from "../../lib/place.ts";
import { runSteps } from "../../lib/runner.ts";
import { AMI_STEPS } from "../../steps/ami/index.ts";
import { startMirror } from "../../fakes/mirror.ts";
import { applyContext } from "../support/helpers.ts";
import { tempDir } from "../../fakes/temp.ts";

const booted: PlaceFacts = {
  systemRoot: true,
  systemdRunning: true,
  chroot: false,
  kernelRelease: "6.1.0-test",
  modulesDir: true,
};

Deno.test("judgePlace: a booted instance can do everything", () => {
  const p = judgePlace(booted);
  assert.deepEqual([p.systemd, p.modules, p.swap], [undefined, undefined, undefined]);
});

Deno.test("judgePlace: under --root nothing runs, for one reason", () => {
  const p = judgePlace({ ...booted, systemRoot: false });
  assert.deepEqual([p.systemd, p.modules, p.swap], [
    NOT_RUNNING_SYSTEM,
    NOT_RUNNING_SYSTEM,
    NOT_RUNNING_SYSTEM,
  ]);
});

Deno.test("judgePlace: a booted instance without the running kernel's modules cannot load modules", () => {
  const p = judgePlace({ ...booted, modulesDir: false });
  assert.equal(p.systemd, undefined);
  assert.equal(p.swap, undefined);
  assert.equal(
    p.modules,
    "/lib/modules/6.1.0-test is missing: the running kernel's modules are not installed here",
  );
});

Deno.test("judgePlace: a container without systemd (docker run, nspawn without --boot)", () => {
  const p = judgePlace({ ...booted, systemdRunning: false, container: "docker" });
  assert.equal(p.systemd, "systemd is not running here (a container (docker): no /run/systemd/system)");
  assert.match(p.modules!, /^in a container \(docker\), which shares the host's kernel/);
  assert.equal(p.swap, "in a container (docker): swap belongs to the host");
});

Deno.test("judgePlace: a booted container (nspawn --boot) runs units but loads no modules", () => {
  const p = judgePlace({ ...booted, container: "systemd-nspawn" });
  assert.equal(p.systemd, undefined);
  assert.ok(p.modules && p.swap);
});

Deno.test("judgePlace: a chroot (amazon-chroot) with the image's modules still loads none", () => {
  const p = judgePlace({ ...booted, systemdRunning: false, chroot: true });
  assert.equal(p.systemd, "systemd is not running here (a chroot: no /run/systemd/system)");
  assert.match(p.modules!, /build machine's kernel/);
  assert.equal(p.swap, "in a chroot: swap belongs to the build machine");
});

Deno.test("containerFromCgroup: hints of cgroup v1 and of a v2 path seen from outside", () => {
  assert.equal(containerFromCgroup("12:pids:/docker/0123abcd\n1:name=systemd:/docker/0123abcd\n"), "docker");
  assert.equal(containerFromCgroup("0::/kubepods/besteffort/pod1/abc\n"), "kubernetes");
  assert.equal(containerFromCgroup("0::/machine.slice/libpod-abc.scope\n"), "podman");
  assert.equal(containerFromCgroup("0::/lxc.payload.c1\n"), "lxc");
  assert.equal(containerFromCgroup("0::/\n"), undefined);
  assert.equal(containerFromCgroup("0::/user.slice/user-0.slice/session-1.scope\n"), undefined);
});

Deno.test("chrootByMountinfo: a root that is no mount point is a chroot", () => {
  const booted = "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw\n" +
    "23 22 0:21 / /proc rw shared:12 - proc proc rw\n";
  assert.equal(chrootByMountinfo(booted), false);
  // chroot /mnt/image (a directory on the root file system) with /proc mounted inside.
  assert.equal(chrootByMountinfo("301 22 0:21 / /proc rw - proc proc rw\n"), true);
  assert.equal(chrootByMountinfo(""), false, "no /proc: cannot tell");
});

Deno.test("readPlaceFacts: on / the container manager of the environment, the running kernel's release", async () => {
  // An empty PATH: no systemd-detect-virt, so only files and the environment speak.
  const host = await Host.open("/", {
    PATH: "",
    container: "systemd-nspawn",
    EKSNODE_KERNEL_RELEASE: "0.0-none",
  });
  const f = await readPlaceFacts(host);
  assert.equal(f.systemRoot, true);
  assert.equal(f.container, "systemd-nspawn");
  assert.equal(f.kernelRelease, "0.0-none");
  assert.equal(f.modulesDir, false);
  assert.equal(
    f.systemdRunning,
    await Deno.stat("/run/systemd/system").then((s) => s.isDirectory, () => false),
  );
  assert.equal(await placeOf(host), await placeOf(host), "read once a host");
});

Deno.test("readPlaceFacts: under another root nothing is read", async () => {
  const root = await tempDir({ prefix: "eksnode-place-" });
  const f = await readPlaceFacts(await Host.open(root, { PATH: "", container: "docker" }));
  assert.deepEqual([f.systemRoot, f.container, f.systemdRunning], [false, undefined, false]);
});

Deno.test("ami on / in a container (dry run): modprobe, daemon-reload and swapoff are notes with the reason", async () => {
  const mirror = await startMirror();
  try {
    // `container` as systemd-nspawn and Podman set it; a kernel release with no /lib/modules here.
    const env = { PATH: Deno.env.get("PATH") ?? "", container: "podman", EKSNODE_KERNEL_RELEASE: "0.0-none" };
    const config = await tempDir({ prefix: "eksnode-place-cfg-" });
    await Deno.writeTextFile(`${config}/bake.toml`, mirror.bakeToml);
    const ctx = await amiContext({
      root: "/",
      output: "text",
      jobs: "1",
      packageManager: "none",
      dryRun: true,
      config: `${config}/bake.toml`,
    }, env);
    const summary = await runSteps(AMI_STEPS, { ...ctx, log: memoryLogger() }, {
      process: "ami",
      dryRun: true,
      only: [14, 18, 35],
    });
    const notes = summary.steps.flatMap((s) => s.notes);
    const changes = summary.steps.flatMap((s) => s.changes);
    const systemdRunning = await Deno.stat("/run/systemd/system").then(() => true, () => false);
    for (const m of ["overlay", "br_netfilter"]) {
      assert.ok(
        notes.some((n) =>
          n.startsWith(`modprobe ${m} skipped: in a container (podman), which shares the host's kernel`) &&
          n.endsWith("the image loads it at boot from /etc/modules-load.d/containerd.conf)")
        ),
        notes.join("\n"),
      );
    }
    assert.ok(!changes.some((c) => c.includes("modprobe")), changes.join("\n"));
    assert.ok(
      notes.includes(
        "swapoff -a skipped: in a container (podman): swap belongs to the host " +
          "(swap entries in /etc/fstab are commented out instead)",
      ),
      notes.join("\n"),
    );
    if (!systemdRunning) {
      assert.ok(
        notes.includes(
          "systemctl daemon-reload skipped: systemd is not running here (a container (podman): no /run/systemd/system)",
        ),
        notes.join("\n"),
      );
    }
    // What can be done is planned: the modules-load file.
    assert.ok(changes.some((c) => c.includes("/etc/modules-load.d/containerd.conf")), changes.join("\n"));
  } finally {
    await mirror.close();
  }
});

/** A bin directory with fake apt-get and dpkg-query that log their argv; `installed` are installed. */
async function fakeApt(installed: string[]): Promise<{ bin: string; log: string }> {
  const bin = await tempDir({ prefix: "eksnode-fake-apt-" });
  const log = `${bin}/calls.log`;
  await Deno.writeTextFile(log, "");
  await Deno.writeTextFile(
    `${bin}/apt-get`,
    `#!/bin/sh\necho "apt-get $*" >> ${log}\n`,
    { mode: 0o755 },
  );
  const cases = installed.map((p) => `  ${p}) printf 'install ok installed\\t1.0' ;;`).join("\n");
  await Deno.writeTextFile(
    `${bin}/dpkg-query`,
    `#!/bin/sh\nfor a; do last=$a; done\ncase "$last" in\n${cases}\n  *) exit 1 ;;\nesac\n`,
    { mode: 0o755 },
  );
  return { bin, log };
}

Deno.test("packages: apt-get update once, before the first install of a run; none when nothing is installed", async () => {
  const { bin, log } = await fakeApt(["iptables"]);
  const root = await tempDir({ prefix: "eksnode-refresh-" });
  const host = await Host.open(root, { PATH: `${bin}:/usr/bin:/bin` });
  const ctx = applyContext({ host, log: memoryLogger(), dryRun: false });
  const t = { manager: "apt", root: "/" } as const;
  const changes = [
    packageInstalled(t, { name: "iptables" }),
    packageInstalled(t, { name: "awscli" }),
    packageInstalled(t, { name: "runc" }),
    packageRemoved(t, { name: "ufw" }),
  ];
  assert.match(
    changes[1].describe(),
    /via apt-get install -y --no-install-recommends awscli \(after apt-get update, once a run\)$/,
  );
  for (const c of changes) if (!(await c.satisfied(ctx))) await c.apply(ctx);
  assert.deepEqual((await Deno.readTextFile(log)).trim().split("\n"), [
    "apt-get update",
    "apt-get install -y --no-install-recommends awscli",
    "apt-get install -y --no-install-recommends runc",
  ]);

  // A run where everything is installed already: no refresh at all.
  const { bin: bin2, log: log2 } = await fakeApt(["iptables", "awscli"]);
  const host2 = await Host.open(root, { PATH: `${bin2}:/usr/bin:/bin` });
  const ctx2 = applyContext({ host: host2, log: memoryLogger(), dryRun: false });
  for (const c of changes.slice(0, 2)) if (!(await c.satisfied(ctx2))) await c.apply(ctx2);
  assert.equal(await Deno.readTextFile(log2), "");
});

Deno.test("step 14 on a booted machine with its modules: modprobe runs, and its failure fails the step", async () => {
  // A temp root seen as the running system of a booted machine (systemd up, /lib/modules of the kernel, no
  // container or chroot signs; no systemd-detect-virt on PATH), with a modprobe that fails as a broken module would.
  const tmp = await tempDir({ prefix: "eksnode-place-host-" });
  const bin = `${tmp}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/modprobe`,
    `#!/bin/sh\necho "modprobe: ERROR: could not insert '$1': Exec format error" >&2\nexit 1\n`,
    { mode: 0o755 },
  );
  const root = `${tmp}/root`;
  await Deno.mkdir(`${root}/run/systemd/system`, { recursive: true });
  await Deno.mkdir(`${root}/lib/modules/6.1.0-test`, { recursive: true });
  const env = { PATH: bin, EKSNODE_KERNEL_RELEASE: "6.1.0-test" };
  const ctx = await amiContext({ root, output: "text", jobs: "1", packageManager: "none" }, env);
  const host = Object.create(ctx.host, { isSystemRoot: { value: true } }) as Host;
  const place = await placeOf(host);
  assert.deepEqual([place.systemd, place.modules, place.swap], [undefined, undefined, undefined]);
  await assert.rejects(
    runSteps(AMI_STEPS, { ...ctx, host, log: memoryLogger() }, { process: "ami", dryRun: false, only: [14] }),
    /modprobe.*(overlay|br_netfilter)/s,
  );
});
