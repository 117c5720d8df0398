/**
 * NVIDIA variant: the NVIDIA user space at the driver's version (fabric manager, IMEX,
 * persistenced, the CUDA driver, from 580 the driver's X pieces), NVLSM with ib_umad loaded at boot, the
 * container toolkit, and fabric manager and persistenced enabled. Follows
 * templates/al2023/provisioners/install-nvidia-driver.sh @ 81fec2e8 ("Install NVLSM", "Install other
 * dependencies"). The container runtime is set at `eksnode init`: it names the `nvidia` runtime when the
 * toolkit's /usr/bin/nvidia-container-runtime is on the node (eks/containerd/runtime.ts), as nodeadm does.
 */
import { file, note } from "../../lib/changes.ts";
import { enableUnit } from "../../lib/systemd.ts";
import type { Change } from "../../lib/step.ts";
import {
  DEFAULT_NVIDIA_DRIVER,
  IB_UMAD_CONF,
  NVIDIA_SERVICES,
  nvidiaDriver,
  nvidiaPackages,
} from "../../eks/image/accelerators.ts";
import { NVIDIA_RUNTIME } from "../../eks/containerd/runtime.ts";
import type { AmiStepDef } from "./context.ts";
import { installPackages, isVariant, notThisVariant } from "./variant_changes.ts";
import { unitInstalled } from "../../lib/systemd.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "NVIDIA: install the driver's user space, NVLSM and the container toolkit",
  group: "NVIDIA",
  leaves: [expectFile(IB_UMAD_CONF)],
  downloads: false,
  async plan(ctx) {
    if (!isVariant(ctx, "nvidia")) return notThisVariant("NVIDIA packages", "--accelerator nvidia");
    const driver = nvidiaDriver(ctx.bake.nvidiaDriverVersion ?? DEFAULT_NVIDIA_DRIVER.version);
    const out: Change[] = [
      file(IB_UMAD_CONF, "ib_umad\n", { mode: 0o644 }),
      ...await installPackages(ctx, nvidiaPackages(driver)),
    ];
    // The services come with the packages: enabled when a package manager installs them in this run.
    for (const unit of NVIDIA_SERVICES) {
      if (ctx.packageManager === "none" && !(await unitInstalled(ctx.host, unit))) {
        out.push(note(`enable ${unit} skipped: package manager none installs no package`));
      } else if (ctx.packageManager === "apt") {
        out.push(note(`enable ${unit} skipped: apt is not supported for the NVIDIA variant`));
      } else if (await ctx.host.which("systemctl")) out.push(enableUnit(unit, ctx.host.root));
      else out.push(note(`enable ${unit} skipped: systemctl not found`));
    }
    out.push(
      note(
        `eksnode init configures containerd's ${NVIDIA_RUNTIME.name} runtime when ${NVIDIA_RUNTIME.binaryName} is installed`,
      ),
    );
    return out;
  },
};
