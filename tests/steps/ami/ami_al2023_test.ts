/**
 * The AL2023 phase of `eksnode ami` (steps 39-54, docs/al2023.md), through the real CLI against the loopback
 * mirror, per variant (`--al2023`, `--accelerator nvidia`, `--accelerator neuron`, `--efa`): a bake into a
 * temp root, pinned by golden files (the phase's files, and the dry-run plan with dnf), rerun = 0 changes,
 * `eksnode verify --phase ami` passes and covers every file the phase wrote, and fails naming a changed SOCI
 * binary or a socket no longer enabled; units accepted by `systemd-analyze verify`; the boot script that
 * chooses the NVIDIA kernel module, run with fake lspci and IMDS; the pure pieces on their own.
 */
import assert from "node:assert/strict";
import { compareOrUpdate } from "../../support/golden.ts";
import { bakeDir } from "../../support/cli_fixtures.ts";
import { eksnode } from "../../support/cli_run.ts";
import { startMirror } from "../../../fakes/mirror.ts";
import { onPath } from "../../support/helpers.ts";
import { tempDir } from "../../../fakes/temp.ts";
import { accepted, describeVerdict, validateShellScript } from "../../support/validators/mod.ts";
import { Host } from "../../../lib/host.ts";
import { templateOf, unitInstalled } from "../../../lib/systemd.ts";
import { verifyUnits } from "../../../lib/systemd_verify.ts";
import { versions } from "../../../assets/versions.ts";
import { resolveArtifact } from "../../../steps/ami/context.ts";
import { amiSteps, imageLeaves, imageUnits } from "../../../steps/ami/index.ts";
import { moduleEnabled } from "../../../steps/ami/44_nvidia_repo.ts";
import { AL2023_PACKAGE_ROLES, packageName } from "../../../steps/ami/package_names.ts";
import { SOCI_SERVICE, useSociSnapshotter } from "../../../eks/containerd/soci.ts";
import {
  hasArgs,
  kernelArgs,
  LINK_POLICY_DROPIN,
  packageVersions,
  renderLinkPolicyDropin,
  renderVersionInfo,
  withGrubArgs,
} from "../../../eks/image/al2023.ts";
import {
  EFA_INSTALLER_DIR,
  kernelPackage,
  nvidiaDriver,
  nvidiaPackages,
  renderNvidiaRepo,
} from "../../../eks/image/accelerators.ts";
import { parseAl2023Variant } from "../../../eks/image/al2023_expect.ts";
import { CRYPTO_POLICY_CONFIG, fipsPolicy } from "../../../eks/image/security.ts";

const ENV = { SOURCE_DATE_EPOCH: "1767225600" };
/** The kernel the test roots hold (so the kernel package names do not follow this machine's kernel). */
const KERNEL = "6.12.40-63.114.amzn2023.x86_64";
const KMOD_LOAD = new URL("../../../assets/gpu/nvidia-kmod-load.sh", import.meta.url).pathname;
const DEVICE_LIST =
  new URL("../../../assets/gpu/nvidia-open-supported-devices-580.txt", import.meta.url).pathname;

interface Variant {
  name: string;
  flags: string[];
  units: string[];
}

const VARIANTS: Variant[] = [
  {
    name: "base",
    flags: ["--al2023"],
    units: ["ebs-initialize-bin@containerd.service", "soci-snapshotter.service", "soci-snapshotter.socket"],
  },
  {
    name: "nvidia",
    flags: ["--accelerator", "nvidia"],
    units: ["nvidia-kmod-load.service", "set-nvidia-clocks.service"],
  },
  { name: "neuron", flags: ["--accelerator", "neuron"], units: ["neuron-package-install.service"] },
  { name: "efa", flags: ["--efa"], units: [] },
];

/** Run-specific text replaced by stable placeholders. */
function normalize(text: string, mirrorUrl: string, root: string): string {
  return text
    .replaceAll(mirrorUrl, "http://MIRROR")
    .replaceAll(root, "/ROOT")
    // A change that took long is shown with its time, which varies.
    .replace(/^(\s+[+] .*) \(\d+\.\d+s\)$/gm, "$1")
    .replace(/\(\d+\.\d+s\)/g, "(T)")
    .replace(/ in \d+\.\d+s\s*$/gm, " in Ts")
    // What systemd-analyze says of an incomplete tree depends on this machine's systemd.
    .replace(/^\s+systemd-analyze verify: units are sound.*\n/gm, "");
}

/** The lines of the AL2023 phase's steps (39 on) of a run's output. */
function phaseLines(stdout: string): string {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => /^\[39\//.test(l));
  return lines.slice(start).join("\n");
}

for (const v of VARIANTS) {
  Deno.test(`ami AL2023 phase (${v.name}): golden files and dnf plan; rerun 0 changes; verify passes and covers it`, async () => {
    const mirror = await startMirror({});
    try {
      const { dir, args } = await bakeDir(mirror.bakeToml);
      const root = `${dir}/root`;
      await Deno.mkdir(`${root}/lib/modules/${KERNEL}`, { recursive: true });
      const bake = await eksnode(args(root, ...v.flags), { env: ENV });
      assert.equal(bake.code, 0, bake.stdout + bake.stderr);
      const again = await eksnode(args(root, ...v.flags), { env: ENV });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /ami: \d+ steps, 0 changes in/);

      // The plan of the phase with dnf, on a root that holds only the kernel: every package and command.
      const fresh = `${dir}/fresh`;
      await Deno.mkdir(`${fresh}/lib/modules/${KERNEL}`, { recursive: true });
      const plan = await eksnode(
        args(fresh, ...v.flags, "--package-manager", "dnf", "--from", "39", "--dry-run"),
        {
          env: ENV,
        },
      );
      assert.equal(plan.code, 0, plan.stderr);

      const release = JSON.parse(await Deno.readTextFile(`${root}/etc/eks/release.json`));
      const variant = parseAl2023Variant(release.al2023);
      assert.ok(variant, "release.json records the phase");
      const files: Record<string, string> = {
        "PLAN-dnf.txt": normalize(phaseLines(plan.stdout), mirror.url, fresh),
        "BAKE.txt": normalize(phaseLines(bake.stdout), mirror.url, root),
      };
      // What the phase's steps declare they leave (the process's 37 leave the rest of the image).
      const process = new Set(imageLeaves({}).map((p) => JSON.stringify(p)));
      const phasePaths = imageLeaves({ al2023: variant }).filter((p) => !process.has(JSON.stringify(p)));
      for (const p of [...phasePaths, { path: "/etc/default/grub", kind: "file" as const }]) {
        if (p.kind !== "file" || p.path.endsWith("-supported-devices-580.txt")) continue;
        files[`tree${p.path}`] = normalize(await Deno.readTextFile(`${root}${p.path}`), mirror.url, root);
      }
      await compareOrUpdate(`ami/al2023-${v.name}`, files);

      // verify checks every file and directory the phase planned, with the mode it was written with.
      const verify = await eksnode(["verify", "--root", root, "--phase", "ami", "--output", "json"]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      const rows: { group: string; name: string; status: string; detail: string }[] =
        JSON.parse(verify.stdout).checks;
      const checked = new Map(rows.filter((r) => r.group === "files").map((r) => [r.name, r.detail]));
      for (const m of phaseLines(bake.stdout).matchAll(/^\s+\+ (file|dir) (\S+) (\d{4}) /gm)) {
        if (/^\/(var\/lib\/eksnode|etc\/eks\/release)/.test(m[2])) continue;
        const detail = checked.get(m[2]);
        assert.ok(detail !== undefined, `verify does not check ${m[1]} ${m[2]}`);
        if (m[2] !== "/etc/default/grub") assert.equal(detail, `${m[1]} ${m[3]}`, m[2]);
      }
      const units = rows.filter((r) => r.group === "units").map((r) => r.name);
      const phaseUnits = imageUnits({ al2023: variant }).filter((u) => !imageUnits({}).includes(u));
      assert.ok(phaseUnits.length >= 3, `the phase's steps declare the units they enable: ${phaseUnits}`);
      for (const u of phaseUnits) assert.ok(units.includes(u), `verify checks ${u}`);

      // The units as systemd reads them (templates through an instance).
      if (onPath("systemd-analyze") && v.units.length) {
        const host = await Host.open(root);
        const out = await verifyUnits(host, v.units);
        assert.deepEqual(out.problems, [], out.problems.join("\n"));
      }
    } finally {
      await mirror.close();
    }
  });
}

Deno.test("ami AL2023 phase: verify fails naming a changed SOCI binary and a socket no longer enabled", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    const bake = await eksnode(args(root, "--al2023"), { env: ENV });
    assert.equal(bake.code, 0, bake.stderr);
    assert.match(bake.stdout, /\[42\/\d+\] Install the SOCI snapshotter \(checksum-verified\)/);

    // What init's FastImagePull decides on this image: the snapshotter is installed.
    const host = await Host.open(root);
    const installed = await unitInstalled(host, SOCI_SERVICE);
    assert.deepEqual(useSociSnapshotter({ gate: true, memoryBytes: 16 * 2 ** 30, cpus: 4, installed }), {
      use: true,
    });

    const grpc = await Deno.readFile(`${root}/usr/bin/soci-snapshotter-grpc`);
    grpc[12] ^= 1;
    await Deno.writeFile(`${root}/usr/bin/soci-snapshotter-grpc`, grpc);
    await Deno.remove(`${root}/etc/systemd/system/sockets.target.wants/soci-snapshotter.socket`);
    const bad = await eksnode(["verify", "--root", root, "--phase", "ami"]);
    assert.equal(bad.code, 5, bad.stdout + bad.stderr);
    assert.match(
      bad.stdout,
      /^FAIL\s+artifacts\s+\/usr\/bin\/soci-snapshotter-grpc\s+soci-snapshotter-grpc: changed/m,
    );
    assert.match(bad.stdout, /^FAIL\s+units\s+soci-snapshotter\.socket\s+not enabled/m);

    // A rerun puts both back.
    const fix = await eksnode(args(root, "--al2023"), { env: ENV });
    assert.equal(fix.code, 0, fix.stderr);
    assert.equal((await eksnode(["verify", "--root", root, "--phase", "ami"])).code, 0);

    // Hygiene stays the last step, after the phase.
    const hygiene = await eksnode(args(root, "--al2023", "--hygiene", "--dry-run"), { env: ENV });
    assert.equal(hygiene.code, 0, hygiene.stderr);
    const order = [...hygiene.stdout.matchAll(/^\[(\d+)\/\d+\]/gm)].map((m) => Number(m[1]));
    assert.deepEqual(order.slice(-4), [52, 54, 51, 38]);
  } finally {
    await mirror.close();
  }
});

Deno.test("ami AL2023 phase: a default bake has no SOCI snapshotter, so FastImagePull stays off", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    assert.equal((await eksnode(args(root), { env: ENV })).code, 0);
    const installed = await unitInstalled(await Host.open(root), SOCI_SERVICE);
    assert.equal(installed, false);
    assert.match(
      useSociSnapshotter({ gate: true, memoryBytes: 16 * 2 ** 30, cpus: 4, installed }).why!,
      /not installed/,
    );
  } finally {
    await mirror.close();
  }
});

Deno.test("ami AL2023 phase: step selection by variant, hygiene last", () => {
  const numbers = (b: Parameters<typeof amiSteps>[0], h = false) =>
    amiSteps(b, h).map((s) => s.number).slice(37);
  assert.deepEqual(numbers({}), []);
  assert.deepEqual(numbers({}, true), [38]);
  assert.deepEqual(numbers({ al2023: true }), [39, 40, 41, 42, 43, 52, 54, 51]);
  const nvidia = [39, 40, 41, 42, 43, 52, 44, 45, 46, 47, 54, 51, 38];
  assert.deepEqual(numbers({ accelerator: "nvidia" }, true), nvidia);
  assert.deepEqual(numbers({ accelerator: "neuron", efa: true }), [
    39,
    40,
    41,
    42,
    43,
    52,
    48,
    49,
    50,
    54,
    51,
  ]);
  assert.deepEqual(numbers({ al2023: true, fips: true }), [39, 40, 41, 42, 43, 52, 53, 54, 51]);
  assert.deepEqual(numbers({ fips: true }), [], "--fips alone: FIPS ECR endpoints only, no phase");
});

Deno.test("ami AL2023 phase: the EFA installer is pinned by the embedded data; other bytes fail step 50", async () => {
  const pinned = await resolveArtifact(versions, "1.32", "efaInstaller", "x86_64", undefined);
  assert.equal(pinned.pinnedBy, "pinned");
  const arm = await resolveArtifact(versions, "1.32", "efaInstaller", "aarch64", undefined);
  assert.equal(arm.sha256, pinned.sha256, "one tarball for both architectures");
  const soci = await resolveArtifact(versions, "1.32", "sociSnapshotter", "aarch64", undefined);
  assert.equal(soci.pinnedBy, "pinned");
  assert.match(soci.url, /soci-snapshotter-0\.13\.0-linux-arm64\.tar\.gz$/);
  assert.match(soci.checksumUrl ?? "", /\.tar\.gz\.sha256sum$/);

  // The mirror's bake config pins what it serves; without its EFA line the embedded pin applies, and the
  // mirror's (synthetic) installer is not AWS's tarball: the download fails, nothing is unpacked or run.
  const mirror = await startMirror({});
  try {
    const toml = mirror.bakeToml.split("\n").filter((l) => !l.startsWith("artifacts.efaInstaller.")).join(
      "\n",
    );
    assert.notEqual(toml, mirror.bakeToml, "the mirror pinned the EFA installer");
    const { dir, args } = await bakeDir(toml);
    const root = `${dir}/root`;
    const r = await eksnode(args(root, "--efa"), { env: ENV });
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `step 50 \\(.*\\): checksum mismatch for .*aws-efa-installer-1\\.47\\.0\\.tar\\.gz: expected sha256 ${pinned.sha256}`,
      ),
    );
    assert.equal(await Deno.stat(`${root}${EFA_INSTALLER_DIR}`).catch(() => undefined), undefined);
  } finally {
    await mirror.close();
  }
});

Deno.test("kernel arguments: x86_64 gets the TSC clock source, EFA the C-state limit; grub's line is kept", () => {
  assert.deepEqual(kernelArgs("x86_64", false), ["clocksource=tsc", "tsc=reliable"]);
  assert.deepEqual(kernelArgs("x86_64", true), [
    "clocksource=tsc",
    "tsc=reliable",
    "intel_idle.max_cstate=1",
    "processor.max_cstate=1",
  ]);
  assert.deepEqual(kernelArgs("aarch64", true), []);
  const grub = 'GRUB_TIMEOUT=0\nGRUB_CMDLINE_LINUX="console=ttyS0 tsc=reliable"\nGRUB_DISABLE_SUBMENU=true\n';
  const once = withGrubArgs(grub, ["clocksource=tsc", "tsc=reliable"]);
  assert.equal(
    once,
    'GRUB_TIMEOUT=0\nGRUB_CMDLINE_LINUX="console=ttyS0 tsc=reliable clocksource=tsc"\nGRUB_DISABLE_SUBMENU=true\n',
  );
  assert.equal(
    withGrubArgs(once, ["clocksource=tsc", "tsc=reliable"]),
    once,
    "a second pass changes nothing",
  );
  assert.equal(withGrubArgs("", ["a=1"]), 'GRUB_CMDLINE_LINUX="a=1"\n');
  assert.equal(withGrubArgs("GRUB_TIMEOUT=0", ["a=1"]), 'GRUB_TIMEOUT=0\nGRUB_CMDLINE_LINUX="a=1"\n');
  assert.ok(hasArgs("ro root=UUID=x clocksource=tsc tsc=reliable", ["tsc=reliable", "clocksource=tsc"]));
  assert.ok(!hasArgs("clocksource=tsc2", ["clocksource=tsc"]));
});

Deno.test("packages: the ones nodeadm relies on by distribution; NVIDIA's at the driver version", () => {
  assert.deepEqual(AL2023_PACKAGE_ROLES.map((r) => packageName(r, "al2023")), [
    "mdadm",
    "pigz",
    "conntrack-tools",
    "ipvsadm",
    "nfs-utils",
  ]);
  assert.deepEqual(AL2023_PACKAGE_ROLES.map((r) => packageName(r, "debian")), [
    "mdadm",
    "pigz",
    "conntrack",
    "ipvsadm",
    "nfs-common",
  ]);
  assert.equal(kernelPackage("6.1.155-176.282.amzn2023.x86_64"), "kernel");
  assert.equal(kernelPackage("6.12.40-63.114.amzn2023.x86_64"), "kernel6.12");
  assert.equal(kernelPackage("6.18.2-1.amzn2023.aarch64"), "kernel6.18");
  const p580 = nvidiaPackages(nvidiaDriver("580.82.07"));
  assert.ok(p580.some((p) => p.name === "nvidia-fabricmanager" && p.version === "580.82.07"));
  assert.ok(p580.some((p) => p.name === "nvidia-imex" && p.version === "580.82.07"));
  assert.ok(p580.some((p) => p.name === "nvidia-container-toolkit" && p.version === undefined));
  const p570 = nvidiaPackages(nvidiaDriver("570.172.08"));
  assert.ok(p570.some((p) => p.name === "nvidia-fabric-manager"));
  assert.ok(p570.some((p) => p.name === "nvidia-imex-570"));
  assert.ok(!p570.some((p) => p.name === "nvidia-settings"));
  assert.match(
    renderNvidiaRepo("aarch64", "cn-north-1"),
    /developer\.download\.nvidia\.cn\/.*amzn2023\/aarch64/,
  );
  assert.ok(
    moduleEnabled("[nvidia-driver]\nname=nvidia-driver\nstream=580-open\nstate=enabled\n", "580-open"),
  );
  assert.ok(!moduleEnabled("[nvidia-driver]\nstream=575-open\nstate=enabled\n", "580-open"));
});

Deno.test("version-info: packages parsed from NAME VERSION lines; keys sorted as jq --sort-keys", () => {
  assert.deepEqual(packageVersions("mdadm 4.2-3.amzn2023\n\npigz 2.8-1\n"), {
    mdadm: "4.2-3.amzn2023",
    pigz: "2.8-1",
  });
  const text = renderVersionInfo({
    packages: { zlib: "1", bash: "5" },
    binaries: { runc: { version: "1.3.3" }, kubelet: { version: "1.32.3" } },
    images: ["b", "a"],
  });
  assert.equal(Object.keys(JSON.parse(text)).join(","), "binaries,images,packages");
  assert.equal(Object.keys(JSON.parse(text).packages).join(","), "bash,zlib");
  assert.deepEqual(JSON.parse(text).images, ["a", "b"]);
  assert.equal(templateOf("ebs-initialize-bin@kubelet.service"), "ebs-initialize-bin@.service");
  assert.equal(templateOf("ebs-initialize-bin@.service"), undefined);
  assert.equal(templateOf("kubelet.service"), undefined);
});

/** Runs nvidia-kmod-load.sh with fake lspci, curl and kmod-util; returns what it loaded and wrote. */
async function kmodLoad(
  devices: string[],
  instanceType: string,
  archives: string[] = ["nvidia-open"],
): Promise<{ code: number; loaded: string; modprobe: string[]; stderr: string }> {
  const dir = await tempDir({ prefix: "eksnode-kmod-load-" });
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.mkdir(`${dir}/modprobe.d`);
  await Deno.mkdir(`${dir}/eks`);
  for (const a of archives) {
    await Deno.mkdir(`${dir}/archive/${a}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/archive/${a}/${a}-580.82.07-kernel6.12-x86_64.dkms.tar.gz`, "");
  }
  await Deno.copyFile(DEVICE_LIST, `${dir}/eks/nvidia-open-supported-devices-580.txt`);
  // `lspci -n -mm` lines: slot "class" "vendor" "device" -rREV "subsystem vendor" "subsystem"; devices are
  // given as class:device[:subsystem]; the fake filters by -d vendor:[device][:class].
  await Deno.writeTextFile(
    `${dir}/devices`,
    devices.map((d) => {
      const [c, dev, sub = "0000"] = d.split(":");
      return `00:1e.0 "${c}" "10de" "${dev}" -ra1 "10de" "${sub}"\n`;
    }).join(""),
  );
  const script = (name: string, body: string) =>
    Deno.writeTextFile(`${bin}/${name}`, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  await script(
    "lspci",
    `filter=""; while [ $# -gt 0 ]; do [ "$1" = -d ] && filter=$2; shift; done
IFS=: read -r vendor device class <<< "$filter"
while read -r slot c v d; do
  c=\${c//\\"/}; v=\${v//\\"/}
  [ "$v" = "$vendor" ] || continue
  [ -z "$class" ] || [ "$c" = "$class" ] || continue
  echo "$slot \\"$c\\" \\"$v\\" $d"
done < "${dir}/devices"`,
  );
  await script(
    "curl",
    `for a in "$@"; do case "$a" in */instance-type) echo -n "${instanceType}";; */api/token) echo -n token;; esac; done`,
  );
  await script("kmod-util", `echo "$*" >> "${dir}/loaded"`);
  const out = await new Deno.Command("bash", {
    args: [KMOD_LOAD],
    env: {
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      DKMS_ARCHIVE_DIR: `${dir}/archive`,
      EKS_ETC_DIR: `${dir}/eks`,
      MODPROBE_DIR: `${dir}/modprobe.d`,
      IMDS_ENDPOINT: "http://imds.invalid",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    loaded: await Deno.readTextFile(`${dir}/loaded`).catch(() => ""),
    modprobe: [...Deno.readDirSync(`${dir}/modprobe.d`)].map((e) => e.name).sort(),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("nvidia-kmod-load.sh: the GRID module for an L4 vGPU profile, the open module when every GPU is in its list, else the proprietary; g5 always proprietary", async () => {
  const none = await kmodLoad([], "m5.large");
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.loaded, "", "no NVIDIA device: nothing loaded");

  const p5 = await kmodLoad(["0302:2330", "0302:2330"], "p5.48xlarge"); // H100: in the 580 list
  assert.equal(p5.code, 0, p5.stderr);
  assert.equal(p5.loaded, "load nvidia-open\n");
  assert.deepEqual(p5.modprobe, ["40-eks-nvidia-openrm.conf"]);

  const old = await kmodLoad(["0302:2330", "0302:13F2"], "p5.48xlarge"); // one GPU the open module lacks
  assert.equal(old.code, 0, old.stderr);
  assert.equal(old.loaded, "load nvidia\n");

  const g5 = await kmodLoad(["0300:2237"], "g5.xlarge"); // A10G is in the list, but g5 turns GSP off
  assert.equal(g5.code, 0, g5.stderr);
  assert.equal(g5.loaded, "load nvidia\n");
  assert.deepEqual(g5.modprobe, ["40-eks-nvidia-openrm.conf", "nvidia-disable-gsp.conf"]);

  // An L4 vGPU profile (g6f): the GRID module when the image has it (AL2023's nvidia-open-grid)...
  const g6f = await kmodLoad(["0302:27b8:1733"], "g6f.large", ["nvidia-open", "nvidia-open-grid"]);
  assert.equal(g6f.code, 0, g6f.stderr);
  assert.equal(g6f.loaded, "load nvidia-open-grid\n");
  // ...and a failure naming what is missing when it does not (eksnode does not build it).
  const noGrid = await kmodLoad(["0302:27b8:1735"], "g6f.xlarge");
  assert.equal(noGrid.code, 1);
  assert.equal(noGrid.loaded, "", "no module that cannot drive a vGPU profile");
  assert.match(
    noGrid.stderr,
    /vGPU profile 27b8:1735 attached: it needs the GRID module \(nvidia-open-grid\)/,
  );
  // The whole L4 (g6) is no vGPU profile: the open module, as before.
  const g6 = await kmodLoad(["0302:27B8:16ca"], "g6.xlarge");
  assert.equal(g6.code, 0, g6.stderr);
  assert.equal(g6.loaded, "load nvidia-open\n");
});

Deno.test({
  name: "the variants' scripts pass bash -n (and shellcheck where installed)",
  ignore: !onPath("bash"),
  async fn() {
    for (
      const name of [
        "kmod-util",
        "nvidia-kmod-archive",
        "nvidia-kmod-load.sh",
        "set-nvidia-clocks",
        "neuron-package-install.sh",
      ]
    ) {
      const v = await validateShellScript(new URL(`../../../assets/gpu/${name}`, import.meta.url).pathname);
      assert.ok(accepted(v), describeVerdict(v));
    }
  },
});

/**
 * What this machine's udev says of `text` as a drop-in of systemd's 99-default.link: `udevadm test-builtin
 * net_setup_link` on `lo`, with the drop-in in a directory bound over /etc/systemd/network in a mount
 * namespace of its own (so this machine's configuration is untouched); the lines naming the drop-in
 * (udev names a file only to complain about it: unknown key, value it cannot parse).
 */
async function udevLinkComplaints(text: string): Promise<string[]> {
  const dir = await tempDir({ prefix: "eksnode-link-" });
  try {
    const dropin = `${dir}/${LINK_POLICY_DROPIN.split("/").slice(-2).join("/")}`;
    await Deno.mkdir(dropin.slice(0, dropin.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(dropin, text);
    const out = await new Deno.Command("unshare", {
      args: [
        "--mount",
        "sh",
        "-c",
        'mount --bind "$1" /etc/systemd/network && exec udevadm test-builtin net_setup_link /sys/class/net/lo',
        "sh",
        dir,
      ],
      env: { SYSTEMD_LOG_LEVEL: "debug" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const all = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.match(all, /Parsed configuration file .*99-default\.link/, `udev read the link files:\n${all}`);
    return all.split("\n").filter((l) => l.includes("99-no-policy.conf"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const udevLink = Deno.build.os === "linux" && Deno.uid() === 0 && onPath("udevadm") && onPath("unshare") &&
  (await Deno.stat("/usr/lib/systemd/network/99-default.link").then(() => true, () => false));
Deno.test({
  name: `step 52's link drop-in: this machine's udev parses it without a complaint${
    udevLink ? "" : " (not run: needs root, udevadm, unshare and systemd's 99-default.link)"
  }`,
  ignore: !udevLink,
  async fn() {
    // udevadm of systemd 252 has no `verify` (254+): net_setup_link's own parser stands in for it.
    assert.deepEqual(await udevLinkComplaints(renderLinkPolicyDropin()), []);
    // The check can fail: a value udev cannot parse and a key it does not know are named.
    const bad = await udevLinkComplaints("[Link]\nMACAddressPolicy=nonsense\nBogus=1\n");
    assert.equal(bad.length, 2, bad.join("\n"));
  },
});

Deno.test("ami AL2023 phase with --fips: step 53 plans the crypto policy tools and fips-mode-setup; verify wants the FIPS policy", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    await Deno.mkdir(`${root}/lib/modules/${KERNEL}`, { recursive: true });
    const plan = await eksnode(args(root, "--al2023", "--fips", "--package-manager", "dnf", "--dry-run"), {
      env: ENV,
    });
    assert.equal(plan.code, 0, plan.stderr);
    const step53 = plan.stdout.slice(plan.stdout.indexOf("[53/"), plan.stdout.indexOf("[54/"));
    assert.match(step53, /crypto-policies-scripts/);
    assert.match(step53, /fips-mode-setup --enable not run: --root is not the running system/);

    const bake = await eksnode(args(root, "--al2023", "--fips"), { env: ENV });
    assert.equal(bake.code, 0, bake.stderr);
    assert.equal(JSON.parse(await Deno.readTextFile(`${root}/etc/eks/release.json`)).al2023.fips, true);
    const rows = async () => {
      const r = await eksnode(["verify", "--root", root, "--phase", "ami", "--output", "json"]);
      const row = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === CRYPTO_POLICY_CONFIG);
      return { code: r.code, row };
    };
    // fips-mode-setup needs the running image: under --root the policy is not FIPS, and verify says so.
    const before = await rows();
    assert.notEqual(before.code, 0);
    assert.equal(before.row?.status, "fail");
    assert.match(before.row?.detail ?? "", /fips-mode-setup --enable/);
    // What fips-mode-setup --enable leaves (update-crypto-policies --set FIPS writes the policy's name).
    await Deno.mkdir(`${root}/etc/crypto-policies`, { recursive: true });
    await Deno.writeTextFile(`${root}${CRYPTO_POLICY_CONFIG}`, "FIPS\n");
    const after = await rows();
    assert.equal(after.row?.status, "ok");
    assert.equal(after.code, 0);

    // With apt, a note: no FIPS modules in Debian's archive.
    const apt = await eksnode(
      args(root, "--al2023", "--fips", "--package-manager", "apt", "--dry-run", "--only", "53"),
      { env: ENV },
    );
    assert.equal(apt.code, 0, apt.stderr);
    assert.match(apt.stdout, /FIPS mode not set: Debian ships no FIPS-validated modules/);
  } finally {
    await mirror.close();
  }
});

Deno.test("fipsPolicy: FIPS and FIPS with sub-policies, not DEFAULT or a comment", () => {
  assert.ok(fipsPolicy("FIPS\n"));
  assert.ok(fipsPolicy("# set by fips-mode-setup\nFIPS:OSPP\n"));
  assert.ok(!fipsPolicy("DEFAULT\n"));
  assert.ok(!fipsPolicy("# FIPS\nDEFAULT\n"));
  assert.ok(!fipsPolicy("FIPSX\n"));
  assert.ok(!fipsPolicy(undefined));
});

Deno.test("step 54: an image with an SELinux policy gets a note under --root naming it; without one, nothing to label", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    const none = await eksnode(args(root, "--al2023", "--only", "54"), { env: ENV });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /no SELinux policy in the image/);
    // AL2023's: SELINUXTYPE=targeted and that policy's file contexts.
    await Deno.mkdir(`${root}/etc/selinux/targeted/contexts/files`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc/selinux/config`, "SELINUX=permissive\nSELINUXTYPE=targeted\n");
    await Deno.writeTextFile(
      `${root}/etc/selinux/targeted/contexts/files/file_contexts`,
      "/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0\n",
    );
    const labelled = await eksnode(args(root, "--al2023", "--only", "54"), { env: ENV });
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.match(
      labelled.stdout,
      /restorecon -R \/usr\/bin \/etc\/systemd\/system \/etc\/eks not run: --root is not the running system \(the targeted policy's labels/,
    );
  } finally {
    await mirror.close();
  }
});

Deno.test("ami --accelerator with apt: one error line, exit 2, nothing written (the variants are AL2023's)", async () => {
  const mirror = await startMirror({});
  try {
    const { dir, args } = await bakeDir(mirror.bakeToml);
    const root = `${dir}/root`;
    const r = await eksnode(args(root, "--accelerator", "nvidia", "--package-manager", "apt", "--dry-run"), {
      env: ENV,
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^error: --accelerator nvidia with package manager apt: the accelerated variants are built on Amazon Linux 2023 \(dnf\)/,
    );
    assert.equal(r.stdout, "");
  } finally {
    await mirror.close();
  }
});
