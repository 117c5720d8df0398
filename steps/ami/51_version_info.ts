/**
 * AL2023 phase, last before hygiene: /etc/eks/version-info.json, the record of what the image
 * carries: its packages (from the package database under the root), the versions of its binaries (with
 * path and SHA-256 of the file, which `eksnode verify` re-hashes, for those installed by the AL2023 phase),
 * and the images the bake cached. Follows templates/al2023/provisioners/generate-version-info.sh @ 81fec2e8,
 * whose output Packer downloads beside the AMI; eksnode keeps it in the image (the Packer example
 * downloads it). AL2023's kernel_modules key (modinfo of the build instance's loaded modules) is left out:
 * under --root they are not the image's.
 */
import { file } from "../../lib/changes.ts";
import { sha256File } from "../../lib/download.ts";
import type { Host } from "../../lib/host.ts";
import {
  packageVersions,
  renderVersionInfo,
  SOCI_BIN_DIR,
  SOCI_BINARIES,
  VERSION_INFO_PATH,
  type VersionInfo,
  type VersionInfoBinary,
} from "../../eks/image/al2023.ts";
import { KUBELET_PATH, RUNC_PATH } from "../../eks/paths/image.ts";
import type { AmiContext, AmiStepDef } from "./context.ts";
import { cachedImageNames } from "./image_cache.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The installed packages with their versions, from rpm or dpkg under the root ({} when neither answers). */
async function installedPackages(ctx: AmiContext): Promise<Record<string, string>> {
  const { host } = ctx;
  const root = host.root;
  const argv = ctx.packageManager === "apt"
    ? ["dpkg-query", ...(root === "/" ? [] : [`--root=${root}`]), "-W", "-f=${Package} ${Version}\\n"]
    : ctx.packageManager === "dnf" || ctx.packageManager === "yum"
    ? ["rpm", ...(root === "/" ? [] : ["--root", root]), "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n"]
    : undefined;
  if (!argv || !(await host.which(argv[0]))) return {};
  const r = await host.exec(argv, { allowFailure: true, timeoutMs: 120_000 });
  return r.code === 0 ? packageVersions(r.stdout) : {};
}

/** A binary's entry, when its file is there. */
async function binary(
  host: Host,
  path: string,
  version: string,
  hashed: boolean,
): Promise<VersionInfoBinary | undefined> {
  const sha256 = await sha256File(host, path);
  if (sha256 === undefined) return undefined;
  return hashed ? { version, path, sha256 } : { version };
}

/** The version-info of this bake. */
export async function versionInfo(ctx: AmiContext): Promise<VersionInfo> {
  const { host } = ctx;
  const a = ctx.versions.artifacts;
  const binaries: VersionInfo["binaries"] = {};
  const add = async (name: string, path: string, version: string, hashed = false) => {
    const b = await binary(host, path, version, hashed);
    if (b) binaries[name] = b;
  };
  await add("kubelet", KUBELET_PATH, ctx.release.kubelet.version);
  await add("containerd", "/usr/bin/containerd", a.containerd.version);
  await add("runc", RUNC_PATH, a.runc.version);
  await add("eksnode", "/usr/bin/eksnode", ctx.eksnodeVersion);
  for (const b of SOCI_BINARIES) await add(b, `${SOCI_BIN_DIR}/${b}`, a.sociSnapshotter.version, true);
  return { packages: await installedPackages(ctx), binaries, images: (await cachedImageNames(ctx)) ?? [] };
}

/** The step. */
export const step: AmiStepDef = {
  title: "Write the version-info manifest /etc/eks/version-info.json",
  group: "AL2023",
  leaves: [expectFile(VERSION_INFO_PATH)],
  downloads: false,
  plan: async (ctx) => [file(VERSION_INFO_PATH, renderVersionInfo(await versionInfo(ctx)), { mode: 0o644 })],
};
