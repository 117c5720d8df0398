/**
 * AL2023 phase: the packages nodeadm relies on, with their names on each distribution
 * (package_names.ts): mdadm, pigz, conntrack, ipvsadm, nfs-utils. Follows
 * templates/al2023/provisioners/install-worker.sh @ 81fec2e8, "Packages".
 */
import { installRole } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";
import { AL2023_PACKAGE_ROLES } from "./package_names.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install the packages nodeadm relies on (mdadm, pigz, conntrack, ipvsadm, nfs-utils)",
  group: "AL2023",
  downloads: false,
  async plan(ctx) {
    return await Promise.all(AL2023_PACKAGE_ROLES.map((role) => installRole(ctx, role)));
  },
};
