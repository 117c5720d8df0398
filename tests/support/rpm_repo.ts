/**
 * A loopback dnf repository of stand-in RPMs under the names the AL2023 steps install and remove
 * (steps/ami/package_names.ts): each a noarch package with one small file
 * (/usr/share/eksnode-standin/NAME holding "NAME VERSION"), no dependencies, no scriptlets. runc and
 * containerd come at the bake's pinned versions and at a newer one, so a test sees the pin win.
 * Built with rpmbuild and createrepo_c (Debian: apt-get install rpm createrepo-c).
 */
import { amiContext } from "../../cli/ami.ts";
import { packageName, type PackageRole } from "../../steps/ami/package_names.ts";
import { cacheBase } from "../e2e/debian_root.ts";
import { onPath } from "./helpers.ts";
import { tempDir } from "../../fakes/temp.ts";

/** The repository: its directory, the RPM files in it, the versions the bake pins. */
export interface RpmRepo {
  dir: string;
  rpms: string[];
  pinned: { runc: string; containerd: string };
  /** The AL2023 package name of a role. */
  name(role: PackageRole): string;
  /** A yum.repos.d file naming the repository at `baseurl` (default: file:// its directory). */
  repoFile(baseurl?: string): string;
}

const SPEC = `Name: %{pkg}
Version: %{ver}
Release: 1.eksnode
Summary: eksnode test stand-in for %{pkg}
License: none
BuildArch: noarch
AutoReqProv: no
%description
A stand-in built by tests/support/rpm_repo.ts.
%install
mkdir -p %{buildroot}/usr/share/eksnode-standin
echo '%{pkg} %{ver}' > %{buildroot}/usr/share/eksnode-standin/%{pkg}
%files
/usr/share/eksnode-standin/%{pkg}
`;

/** Runs argv (killed after `timeoutMs`, default 5 min: a hang fails the test); a failure throws with its output. */
export async function runTool(argv: string[], timeoutMs = 5 * 60_000): Promise<string> {
  const signal = AbortSignal.timeout(timeoutMs);
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
    signal,
  }).output();
  if (signal.aborted) {
    throw new Error(`${argv.join(" ")} did not finish within ${timeoutMs / 1000} s (killed)`);
  }
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${argv.join(" ")} exited ${out.code}:\n${dec.decode(out.stderr)}${dec.decode(out.stdout)}`,
    );
  }
  return dec.decode(out.stdout);
}

/** One stand-in package to build with {@link buildRpm}. */
export interface RpmSpec {
  name: string;
  version: string;
  release: string;
  /** Epoch; none when undefined. */
  epoch?: number;
  /** The License tag, as written in the spec (rpm keeps it verbatim). */
  licence: string;
  /** `noarch`, or undefined for the build machine's architecture. */
  buildArch?: "noarch";
}

/**
 * Builds one stand-in RPM (one small file, /usr/share/eksnode-standin/NAME) with `rpmbuild` under
 * `${work}/rpmbuild` and returns its path.
 */
export async function buildRpm(work: string, p: RpmSpec): Promise<string> {
  const spec = `${work}/${p.name}.spec`;
  await Deno.writeTextFile(
    spec,
    [
      `Name: ${p.name}`,
      `Version: ${p.version}`,
      `Release: ${p.release}`,
      ...(p.epoch !== undefined ? [`Epoch: ${p.epoch}`] : []),
      `Summary: eksnode test stand-in for ${p.name}`,
      `License: ${p.licence}`,
      ...(p.buildArch ? [`BuildArch: ${p.buildArch}`] : []),
      "AutoReqProv: no",
      "%global debug_package %{nil}",
      "%description",
      "A stand-in built by tests/support/rpm_repo.ts.",
      "%install",
      "mkdir -p %{buildroot}/usr/share/eksnode-standin",
      `echo '${p.name} ${p.version}' > %{buildroot}/usr/share/eksnode-standin/${p.name}`,
      "%files",
      `/usr/share/eksnode-standin/${p.name}`,
      "",
    ].join("\n"),
  );
  const out = await runTool([
    "rpmbuild",
    "-bb",
    "--define",
    `_topdir ${work}/rpmbuild`,
    spec,
  ]);
  const wrote = /^Wrote: (\S+\.rpm)$/m.exec(out)?.[1];
  if (!wrote) throw new Error(`rpmbuild named no package:\n${out}`);
  return wrote;
}

/** Builds the stand-ins into `${work}/repo` for the bake config `bakeToml` (which pins the versions). */
export async function buildRpmRepo(work: string, bakeToml: string): Promise<RpmRepo> {
  await Deno.writeTextFile(`${work}/pins.toml`, bakeToml);
  const ctx = await amiContext({
    root: `${work}/probe`,
    output: "text",
    jobs: "1",
    config: `${work}/pins.toml`,
    dryRun: true,
  }, { PATH: Deno.env.get("PATH") ?? "" });
  const pinned = {
    runc: ctx.versions.artifacts.runc.version,
    containerd: ctx.versions.artifacts.containerd.version,
  };
  const name = (role: PackageRole) => packageName(role, "al2023") as string;
  const roles: PackageRole[] = [
    "iptablesLegacy",
    "awsCli",
    "ssmAgent",
    "ec2NetUtils",
    "runc",
    "containerd",
    "versionlockPlugin",
  ];
  const builds: [string, string][] = roles.map((r) => [
    name(r),
    r === "runc" ? pinned.runc : r === "containerd" ? pinned.containerd : "1.0.0",
  ]);
  builds.push(["runc", "99.0.0"], ["containerd", "99.0.0"]);
  await Deno.writeTextFile(`${work}/standin.spec`, SPEC);
  for (const [pkg, ver] of builds) {
    await runTool([
      "rpmbuild",
      "-bb",
      "--define",
      `_topdir ${work}/rpmbuild`,
      "--define",
      `pkg ${pkg}`,
      "--define",
      `ver ${ver}`,
      `${work}/standin.spec`,
    ]);
  }
  const dir = `${work}/repo`;
  await Deno.mkdir(dir);
  const rpms = [...Deno.readDirSync(`${work}/rpmbuild/RPMS/noarch`)].map((e) => e.name).sort();
  if (rpms.length !== builds.length) throw new Error(`rpmbuild made ${rpms.join(" ")}`);
  for (const f of rpms) await Deno.copyFile(`${work}/rpmbuild/RPMS/noarch/${f}`, `${dir}/${f}`);
  await runTool(["createrepo_c", "--quiet", dir]);
  return {
    dir,
    rpms,
    pinned,
    name,
    repoFile: (baseurl = `file://${dir}`) =>
      `[standin]\nname=eksnode stand-ins\nbaseurl=${baseurl}\ngpgcheck=0\nenabled=1\n`,
  };
}

/**
 * dnf-plugins-core's versionlock plugin, taken from Debian's package (`apt-get download`, `dpkg-deb -x`)
 * into the e2e cache (tests/e2e/debian_root.ts cacheBase), not installed: installed, the package also
 * enables its `local` plugin for every dnf on the machine, which adds a repository without keys that dnf
 * then refuses (every dnf test would fail). Returns the plugin file and the directory to put on
 * PYTHONPATH for its `dnfpluginscore` module, or why they cannot be had.
 */
export async function versionlockPlugin(): Promise<{ plugin: string; site: string } | string> {
  const dir = `${cacheBase()}/dnf-plugins-core`;
  const site = `${dir}/usr/lib/python3/dist-packages`;
  const plugin = `${site}/dnf-plugins/versionlock.py`;
  if (await Deno.stat(plugin).then(() => true, () => false)) return { plugin, site };
  if (!onPath("apt-get") || !onPath("dpkg-deb")) return "no apt-get and dpkg-deb to fetch dnf-plugins-core";
  const dl = await tempDir({ prefix: "eksnode-dnf-plugins-" });
  const got = await new Deno.Command("apt-get", {
    args: ["download", "dnf-plugins-core"],
    cwd: dl,
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const deb = [...Deno.readDirSync(dl)].find((e) => e.name.endsWith(".deb"));
  if (!got.success || !deb) {
    return `apt-get download dnf-plugins-core failed: ${new TextDecoder().decode(got.stderr).trim()}`;
  }
  await Deno.mkdir(cacheBase(), { recursive: true });
  const part = `${dir}.part-${Deno.pid}`;
  await runTool(["dpkg-deb", "-x", `${dl}/${deb.name}`, part]);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(part, dir);
  await Deno.remove(dl, { recursive: true });
  return { plugin, site };
}
