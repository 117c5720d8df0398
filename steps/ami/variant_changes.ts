/**
 * Shared pieces of the accelerated variants' steps (44-50): which variant a bake builds, vendor repository
 * files, package lists through the package adapter, and commands that only run on the build instance.
 */
import { exec, type ExecChangeOptions, file, note } from "../../lib/changes.ts";
import { packageInstalled } from "../../lib/packages.ts";
import type { Change } from "../../lib/step.ts";
import type { VariantPackage } from "../../eks/image/accelerators.ts";
import { buildKernel } from "./33_release_file.ts";
import { amiPackageTarget } from "./ami_packages.ts";
import type { Accelerator, AmiContext } from "./context.ts";

/** The plan of a variant step in a bake without that variant. */
export function notThisVariant(what: string, flag: string): Change[] {
  return [note(`${what}: not this variant (${flag})`)];
}

/** True when the bake builds `accelerator`'s variant. */
export function isVariant(ctx: AmiContext, accelerator: Accelerator): boolean {
  return ctx.bake.accelerator === accelerator;
}

/**
 * A vendor's dnf/yum repository file. apt is not supported for the variants: its sources need the vendor's
 * signing key as a local keyring, which eksnode does not pin; the note says so.
 */
export function repoFile(ctx: AmiContext, path: string, text: string, vendor: string): Change[] {
  if (ctx.packageManager === "apt") {
    return [
      note(
        `${vendor} repository skipped: the accelerated variants are built on Amazon Linux 2023 (dnf); apt sources need the vendor's signing key, which eksnode does not pin`,
      ),
    ];
  }
  return [file(path, text, { mode: 0o644 })];
}

/** Installs `pkgs` with the bake's package manager (notes under none, or apt under --root). */
export async function installPackages(ctx: AmiContext, pkgs: readonly VariantPackage[]): Promise<Change[]> {
  const { target } = await amiPackageTarget(ctx);
  return pkgs.map((p) => packageInstalled(target, p));
}

/** The kernel the image boots (the newest of /lib/modules under --root, else the running one). */
export function imageKernel(ctx: AmiContext): Promise<string> {
  return buildKernel(ctx.host);
}

/**
 * A command that builds on the build instance itself (DKMS modules, the EFA installer): on the running
 * system an exec change, under another --root a note naming what is left undone.
 */
export function onBuildInstance(ctx: AmiContext, argv: string[], opts: ExecChangeOptions): Change {
  if (!ctx.host.isSystemRoot) {
    return note(
      `${argv.join(" ")} not run: --root is not the running system (${
        opts.why ?? "it runs on the build instance"
      })`,
    );
  }
  if (ctx.packageManager === "none") return note(`${argv.join(" ")} not run: package manager none`);
  return exec(argv, { timeoutMs: 30 * 60_000, ...opts });
}
