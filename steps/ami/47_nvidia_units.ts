/**
 * NVIDIA variant: the boot units. nvidia-kmod-load.service runs /etc/eks/nvidia-kmod-load.sh,
 * which chooses the kernel module for the attached GPUs (open when all are in the open module's device
 * list, proprietary otherwise and on g4dn/g5/g5g) and loads it from the archive of step 45;
 * set-nvidia-clocks.service sets the application clocks to the highest supported. Follows
 * templates/al2023/runtime/gpu/{nvidia-kmod-load.service,nvidia-kmod-load.sh,set-nvidia-clocks.service} and
 * runtime/bin/set-nvidia-clocks @ 81fec2e8 (install-nvidia-driver.sh "Prepare for nvidia init").
 */
import { file } from "../../lib/changes.ts";
import {
  NVIDIA_KMOD_LOAD_SCRIPT,
  NVIDIA_KMOD_LOAD_SERVICE,
  renderNvidiaKmodLoadUnit,
  renderSetNvidiaClocksUnit,
  SET_NVIDIA_CLOCKS_SCRIPT,
  SET_NVIDIA_CLOCKS_SERVICE,
} from "../../eks/image/accelerators.ts";
import kmodLoad from "../../assets/gpu/nvidia-kmod-load.sh" with { type: "text" };
import setClocks from "../../assets/gpu/set-nvidia-clocks" with { type: "text" };
import type { AmiStepDef } from "./context.ts";
import { PHASE_UNIT_DIR } from "../../eks/image/al2023.ts";
import { unitChanges } from "./unit_changes.ts";
import { isVariant, notThisVariant } from "./variant_changes.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The boot scripts, by path. */
export const NVIDIA_BOOT_SCRIPTS: Readonly<Record<string, string>> = {
  [NVIDIA_KMOD_LOAD_SCRIPT]: kmodLoad,
  [SET_NVIDIA_CLOCKS_SCRIPT]: setClocks,
};

/** The units this step installs and enables. */
const ENABLED = [NVIDIA_KMOD_LOAD_SERVICE, SET_NVIDIA_CLOCKS_SERVICE];

/** The step. */
export const step: AmiStepDef = {
  title: "NVIDIA: install nvidia-kmod-load.service (module chosen by device) and set-nvidia-clocks.service",
  enables: ENABLED,
  group: "NVIDIA",
  leaves: [
    expectFile(NVIDIA_KMOD_LOAD_SCRIPT, 0o755),
    expectFile(SET_NVIDIA_CLOCKS_SCRIPT, 0o755),
    expectFile(`${PHASE_UNIT_DIR}/${NVIDIA_KMOD_LOAD_SERVICE}`),
    expectFile(`${PHASE_UNIT_DIR}/${SET_NVIDIA_CLOCKS_SERVICE}`),
  ],
  downloads: false,
  async plan(ctx) {
    if (!isVariant(ctx, "nvidia")) return notThisVariant("NVIDIA boot units", "--accelerator nvidia");
    return [
      ...Object.entries(NVIDIA_BOOT_SCRIPTS).map(([path, text]) => file(path, text, { mode: 0o755 })),
      ...await unitChanges(
        ctx.host,
        {
          [NVIDIA_KMOD_LOAD_SERVICE]: renderNvidiaKmodLoadUnit(),
          [SET_NVIDIA_CLOCKS_SERVICE]: renderSetNvidiaClocksUnit(),
        },
        ENABLED,
      ),
    ];
  },
};
