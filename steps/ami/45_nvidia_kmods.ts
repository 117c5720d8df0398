/**
 * NVIDIA variant: the NVIDIA kernel modules, built with DKMS against the image's kernel and
 * archived under /var/lib/dkms-archive: the open module (as nvidia-open) and the proprietary one (as
 * nvidia), each installed, archived and removed again, so the image carries both and
 * nvidia-kmod-load.service (step 47) loads the one the attached GPUs need. The open module's supported
 * device list goes to /etc/eks. Follows templates/al2023/provisioners/install-nvidia-driver.sh @ 81fec2e8
 * ("Install drivers": archive-open-kmods, archive-proprietary-kmod). The GRID module (an x86_64 runfile
 * from a private S3 bucket, for L4 vGPU profiles) is not built: no public checksum pins it.
 */
import { file, note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import {
  DEFAULT_NVIDIA_DRIVER,
  DKMS_ARCHIVE_DIR,
  DKMS_NVIDIA_CONF,
  kernelBuildPackages,
  KMOD_ARCHIVE_SCRIPT,
  KMOD_UTIL,
  NVIDIA_KMODS,
  nvidiaDriver,
  nvidiaOpenDevicesFile,
  OPEN_DEVICE_LISTS,
} from "../../eks/image/accelerators.ts";
import kmodUtil from "../../assets/gpu/kmod-util" with { type: "text" };
import kmodArchive from "../../assets/gpu/nvidia-kmod-archive" with { type: "text" };
import type { AmiStepDef } from "./context.ts";
import {
  imageKernel,
  installPackages,
  isVariant,
  notThisVariant,
  onBuildInstance,
} from "./variant_changes.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "NVIDIA: build and archive the open and proprietary kernel modules (DKMS)",
  group: "NVIDIA",
  leaves: (image) => {
    const driver = nvidiaDriver(image.al2023?.nvidiaDriver ?? DEFAULT_NVIDIA_DRIVER.version);
    return [
      expectFile(DKMS_NVIDIA_CONF),
      expectFile(KMOD_UTIL, 0o755),
      expectFile(KMOD_ARCHIVE_SCRIPT, 0o755),
      ...(Object.hasOwn(OPEN_DEVICE_LISTS, driver.major)
        ? [expectFile(nvidiaOpenDevicesFile(driver.major))]
        : []),
    ];
  },
  downloads: false,
  async plan(ctx) {
    if (!isVariant(ctx, "nvidia")) return notThisVariant("NVIDIA kernel modules", "--accelerator nvidia");
    const driver = nvidiaDriver(ctx.bake.nvidiaDriverVersion ?? DEFAULT_NVIDIA_DRIVER.version);
    const kernel = await imageKernel(ctx);
    const out: Change[] = [
      ...await installPackages(ctx, [...kernelBuildPackages(kernel, true), { name: "dkms" }]),
      file(DKMS_NVIDIA_CONF, "MAKE[0]=\"'make' -j$(nproc) module\"\n", { mode: 0o644 }),
      file(KMOD_UTIL, kmodUtil, { mode: 0o755 }),
      file(KMOD_ARCHIVE_SCRIPT, kmodArchive, { mode: 0o755 }),
    ];
    const list = OPEN_DEVICE_LISTS[driver.major];
    out.push(
      list ? file(nvidiaOpenDevicesFile(driver.major), list, { mode: 0o644 }) : note(
        `no open-module device list for driver ${driver.major}: nvidia-kmod-load.sh loads the proprietary module`,
      ),
    );
    for (const k of NVIDIA_KMODS) {
      out.push(
        onBuildInstance(ctx, [
          KMOD_ARCHIVE_SCRIPT,
          k.module === "nvidia-open" ? "open" : "proprietary",
          driver.version,
        ], {
          why: `DKMS builds ${k.package} ${driver.version} against kernel ${kernel} on the build instance`,
          key: `nvidia-kmod-archive:${k.module}`,
          check: async ({ host }) =>
            ((await host.readDir(`${DKMS_ARCHIVE_DIR}/${k.module}`)) ?? []).some((n) =>
              n.includes(driver.version) && n.endsWith(".tar.gz")
            ),
        }),
      );
    }
    return out;
  },
};
