/**
 * Sandbox-image.service, which pulls the sandbox image at boot when it is not cached
 * (`eksnode pull-image`); containerd.service and sandbox-image.service are enabled (`systemctl --root` under
 * another root), and the units are checked with `systemd-analyze verify`.
 */
import { EKS_SANDBOX_IMAGE_UNIT, SANDBOX_IMAGE_UNIT } from "../../eks/paths/node.ts";
import { renderSandboxImageUnit } from "../../eks/system/node_units.ts";
import { file, note, satisfiedByCopy } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { placeOf } from "../../lib/place.ts";
import { daemonReload, enableUnit, unitInstalled } from "../../lib/systemd.ts";
import { verifyChange } from "../../lib/systemd_verify.ts";
import type { AmiStepDef } from "./context.ts";
import { bakeSandboxImage } from "./image_cache.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The units this step enables. */
const CONTAINERD = "containerd.service";
const SANDBOX_IMAGE = "sandbox-image.service";

/** The step. */
export const step: AmiStepDef = {
  title: "Install sandbox-image.service and enable containerd",
  enables: [CONTAINERD, SANDBOX_IMAGE],
  group: "Containerd",
  leaves: [expectFile(SANDBOX_IMAGE_UNIT)],
  async plan(ctx) {
    const { host } = ctx;
    // The unit for the bake region's sandbox image; `eksnode init` re-renders it for the node's region
    // (keeping a copy under /etc/eks/containerd), and a rebake after init leaves the node's.
    const image = bakeSandboxImage(ctx);
    const out: Change[] = [
      satisfiedByCopy(
        file(
          SANDBOX_IMAGE_UNIT,
          renderSandboxImageUnit({ sandboxImage: image, sandboxRegistry: image.split("/")[0] }),
        ),
        SANDBOX_IMAGE_UNIT,
        EKS_SANDBOX_IMAGE_UNIT,
      ),
    ];
    const unitKeys = [
      SANDBOX_IMAGE_UNIT,
      "/etc/systemd/system/containerd.service",
      "/etc/systemd/system/runtime.slice",
    ];
    out.push(daemonReload(unitKeys, (await placeOf(host)).systemd));
    if (!(await host.which("systemctl"))) {
      out.push(note("enabling containerd.service and sandbox-image.service skipped: systemctl not found"));
      return out;
    }
    // In a dry run step 11 has only planned the tarball's unit; in a real run it is there by now.
    let containerdUnit = ctx.dryRun && ctx.bake.containerdSource === "tarball";
    if (await unitInstalled(host, CONTAINERD)) containerdUnit = true;
    if (containerdUnit) out.push(enableUnit(CONTAINERD, host.root));
    else {
      out.push(note(
        "enable containerd.service skipped: no containerd.service under the root (step 11 installs it, or its package)",
      ));
    }
    out.push(enableUnit(SANDBOX_IMAGE, host.root));
    if (await host.which("systemd-analyze")) {
      out.push(
        verifyChange(
          containerdUnit ? [CONTAINERD, SANDBOX_IMAGE] : [SANDBOX_IMAGE],
          unitKeys,
        ),
      );
    } else out.push(note("systemd-analyze not found: units are not verified"));
    return out;
  },
};
