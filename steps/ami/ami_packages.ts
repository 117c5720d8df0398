/** Package changes for the ami steps: the adapter in lib/packages.ts with the names of package_names.ts. */
import { note } from "../../lib/changes.ts";
import {
  packageInstalled,
  packageLockCleared,
  packageLocked,
  packageRemoved,
  type PackageTarget,
} from "../../lib/packages.ts";
import type { Change } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import { type Distro, distroOf, packageName, type PackageRole } from "./package_names.ts";

/** The package target and distribution of this bake. */
export async function amiPackageTarget(ctx: AmiContext): Promise<{ target: PackageTarget; distro?: Distro }> {
  const osRelease = ctx.packageManager === "apt" ? await ctx.host.readText("/etc/os-release") : undefined;
  return {
    target: { manager: ctx.packageManager, root: ctx.host.root },
    distro: distroOf(ctx.packageManager, osRelease),
  };
}

/** Installs the package of `role` (at `version` when given), or a note when the distribution has none. */
export async function installRole(ctx: AmiContext, role: PackageRole, version?: string): Promise<Change> {
  const { target, distro } = await amiPackageTarget(ctx);
  const name = packageName(role, distro);
  if (typeof name !== "string") return note(`package ${role} skipped: ${name.unavailable}`);
  return packageInstalled(target, { name, version });
}

/** Removes the package of `role`, or a note when the distribution has none. */
export async function removeRole(ctx: AmiContext, role: PackageRole): Promise<Change> {
  const { target, distro } = await amiPackageTarget(ctx);
  const name = packageName(role, distro);
  if (typeof name !== "string") return note(`package ${role} removal skipped: ${name.unavailable}`);
  return packageRemoved(target, { name });
}

/**
 * The package of `role` installed at `version` and version-locked there, as AL2023's build does for
 * containerd: the versionlock plugin installed (python3-dnf-plugin-versionlock, as that build does), a
 * lock of another version cleared (it would hide the pin from dnf), the install, then the lock. The lock
 * parts are dnf only; other managers get the install alone.
 */
export async function installLockedRole(
  ctx: AmiContext,
  role: PackageRole,
  version: string,
): Promise<Change[]> {
  const install = await installRole(ctx, role, version);
  const { target, distro } = await amiPackageTarget(ctx);
  const name = packageName(role, distro);
  const cleared = typeof name === "string" ? packageLockCleared(target, { name, version }) : undefined;
  const lock = typeof name === "string" ? packageLocked(target, { name }) : undefined;
  if (!cleared || !lock) return [install];
  return [await installRole(ctx, "versionlockPlugin"), cleared, install, lock];
}
