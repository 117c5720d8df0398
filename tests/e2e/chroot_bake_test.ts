/**
 * `eksnode ami` in a plain chroot, as Packer's amazon-chroot builder runs it: the Debian root of the boot
 * test (tests/e2e/debian_root.ts), /proc and /dev mounted as the builder mounts them, nothing booted, no
 * systemd anywhere inside, no `--root`. In a mount namespace of its own (unshare), so the mounts go with
 * it. The bake completes: daemon-reload, modprobe and swapoff are notes with the reason (on this machine
 * the reason may name a container rather than a chroot: a chroot inside a container is both), the units
 * are enabled offline (their links), the modules-load file and the release files are written; a second
 * bake makes 0 changes. Packages are `none` here: real apt runs in the boot test's bake from inside.
 */
import assert from "node:assert/strict";
import { startMirror } from "../../fakes/mirror.ts";
import { onPath } from "../support/helpers.ts";
import { tempDir } from "../../fakes/temp.ts";
import { BOOT_CONFIG_SERVICE, BOOT_RUN_SERVICE } from "../../eks/paths/node.ts";
import { bookwormRecipe, cachedRoot, copyRoot, run } from "./debian_root.ts";
import { mountsUnder, unmountUnder } from "./nspawn.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const E2E = "/opt/e2e";
const TOOLS = ["debootstrap", "unshare", "chroot", "mount", "dpkg", "cp", "umount"];
const missing = TOOLS.filter((t) => !onPath(t));
const skip = Deno.build.os !== "linux"
  ? "not Linux"
  : Deno.uid() !== 0
  ? "needs root (debootstrap, chroot, mount)"
  : missing.length
  ? `${missing.join(", ")} not installed (apt-get install debootstrap util-linux coreutils)`
  : undefined;
if (skip) console.log(`chroot bake test not run: ${skip}`);

/**
 * Mounts what amazon-chroot mounts (/proc, /dev) and the test's Deno, repository and Deno cache
 * (read-only) into ROOT, then runs the rest of the arguments chrooted. Positional parameters, never
 * interpolated: $1 root, $2 deno, $3 repository, $4 Deno's cache, then the command.
 */
const CHROOT_SCRIPT = `
root=$1 deno=$2 src=$3 cache=$4; shift 4
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
for pair in "$deno:${E2E}/deno" "$src:${E2E}/src" "$cache:${E2E}/deno-dir"; do
  mount --bind "\${pair%%:*}" "$root\${pair#*:}"
  mount -o remount,bind,ro "$root\${pair#*:}"
done
exec chroot "$root" "$@"
`;

Deno.test({
  name: `chroot bake: eksnode ami on / in a plain chroot without systemd completes and reruns with 0 changes${
    skip ? ` (not run: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cached = await cachedRoot(await bookwormRecipe());
    const tmp = await tempDir({ prefix: "eksnode-chroot-" });
    const root = `${tmp}/root`;
    const mirror = await startMirror();
    try {
      await copyRoot(cached.root, root);
      await Deno.mkdir(`${root}${E2E}/src`, { recursive: true });
      await Deno.mkdir(`${root}${E2E}/deno-dir`, { recursive: true });
      await Deno.writeFile(`${root}${E2E}/deno`, new Uint8Array());
      await run([Deno.execPath(), "cache", "--frozen", "--quiet", `${REPO}/main.ts`], "deno cache", 300_000);
      const denoDir = JSON.parse(await run([Deno.execPath(), "info", "--json"], "deno info"))
        .denoDir as string;
      await Deno.writeTextFile(`${root}${E2E}/bake.toml`, mirror.bakeToml);
      await Deno.writeTextFile(
        `${root}${E2E}/eksnode`,
        `#!/bin/sh\nexport DENO_DIR=${E2E}/deno-dir\nexec ${E2E}/deno run --allow-all --cached-only --quiet ${E2E}/src/main.ts "$@"\n`,
        { mode: 0o755 },
      );
      const bake = async (program: string) => {
        const out = await new Deno.Command("unshare", {
          args: [
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-ec",
            CHROOT_SCRIPT,
            "sh",
            root,
            Deno.execPath(),
            REPO,
            denoDir,
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            "NO_COLOR=1",
            program,
            "ami",
            "--config",
            `${E2E}/bake.toml`,
            "--self",
            `${E2E}/eksnode`,
            "--package-manager",
            "none",
            "--no-cache-images",
          ],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(10 * 60_000),
        }).output();
        const dec = new TextDecoder();
        return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
      };

      const first = await bake(`${E2E}/eksnode`);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /ami: 37 steps, \d+ changes in/);
      // No systemd in a chroot: no reload, with the reason; a chroot (or the container it runs in) loads no modules.
      assert.match(
        first.stdout,
        /systemctl daemon-reload skipped: systemd is not running here \((a chroot|a container \([^)]+\))/,
      );
      assert.match(
        first.stdout,
        /modprobe br_netfilter skipped: (in a chroot|in a container|\/lib\/modules\/)/,
      );
      assert.match(first.stdout, /swapoff -a skipped: in a (chroot|container)/);
      const notes = first.stdout.split("\n").filter((l) => / skipped: /.test(l)).map((l) => l.trim());
      console.log(`chroot bake test: the notes of the place:\n  ${notes.join("\n  ")}`);
      // Enabled all the same: systemctl makes the links offline.
      for (
        const u of ["containerd.service", "sandbox-image.service", BOOT_CONFIG_SERVICE, BOOT_RUN_SERVICE]
      ) {
        const link = await Deno.lstat(`${root}/etc/systemd/system/multi-user.target.wants/${u}`).catch(() =>
          null
        );
        assert.ok(link?.isSymlink, `${u} enabled in the chroot`);
      }
      assert.match(await Deno.readTextFile(`${root}/etc/modules-load.d/containerd.conf`), /^overlay$/m);
      assert.ok((await Deno.stat(`${root}/etc/eks/release`)).isFile);

      const again = await bake("eksnode");
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /ami: 37 steps, 0 changes in/, again.stdout);
      assert.equal((await mountsUnder(root)).length, 0, "the chroot's mounts went with its namespace");
    } finally {
      await mirror.close();
      await unmountUnder(root);
      if ((await mountsUnder(tmp)).length === 0) await Deno.remove(tmp, { recursive: true });
    }
  },
});
