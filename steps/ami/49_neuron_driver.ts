/**
 * Neuron variant: the Neuron driver (aws-neuronx-dkms, built against the image's kernel) and
 * tools; the 2.21 driver inf1 needs, downloaded into /var/cache/eks/packages; and
 * neuron-package-install.service, which installs that cached driver at boot on inf1 only. Follows
 * templates/al2023/provisioners/install-neuron-driver.sh and runtime/gpu/neuron-package-install.{sh,service}
 * @ 81fec2e8. (AL2023 also installs and removes the 2.21 driver first so its dependencies are on the image;
 * the current driver installed here has the same ones: dkms and the kernel headers.)
 */
import { dir, file } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import {
  kernelBuildPackages,
  NEURON_INF1_DRIVER,
  NEURON_INSTALL_SCRIPT,
  NEURON_INSTALL_SERVICE,
  NEURON_PACKAGE_CACHE,
  NEURON_PACKAGES,
  renderNeuronInstallUnit,
} from "../../eks/image/accelerators.ts";
import neuronInstall from "../../assets/gpu/neuron-package-install.sh" with { type: "text" };
import type { AmiStepDef } from "./context.ts";
import { PHASE_UNIT_DIR } from "../../eks/image/al2023.ts";
import { unitChanges } from "./unit_changes.ts";
import {
  imageKernel,
  installPackages,
  isVariant,
  notThisVariant,
  onBuildInstance,
} from "./variant_changes.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The unit this step installs and enables. */
const ENABLED = [NEURON_INSTALL_SERVICE];

/** The step. */
export const step: AmiStepDef = {
  title:
    "Neuron: install the Neuron driver and tools; cache the inf1 driver for neuron-package-install.service",
  enables: ENABLED,
  group: "Neuron",
  leaves: [
    expectDir(NEURON_PACKAGE_CACHE),
    expectFile(NEURON_INSTALL_SCRIPT, 0o755),
    expectFile(`${PHASE_UNIT_DIR}/${NEURON_INSTALL_SERVICE}`),
  ],
  downloads: false,
  async plan(ctx) {
    if (!isVariant(ctx, "neuron")) return notThisVariant("Neuron driver", "--accelerator neuron");
    const kernel = await imageKernel(ctx);
    const out: Change[] = [
      ...await installPackages(ctx, [...kernelBuildPackages(kernel, false), ...NEURON_PACKAGES]),
      dir(NEURON_PACKAGE_CACHE, { mode: 0o755 }),
      onBuildInstance(
        ctx,
        // dnf's download plugin; yum's is yumdownloader (yum-utils).
        [
          ...(ctx.packageManager === "yum" ? ["yumdownloader"] : ["dnf", "download"]),
          `--destdir=${NEURON_PACKAGE_CACHE}`,
          `aws-neuronx-dkms-${NEURON_INF1_DRIVER}.*`,
        ],
        {
          why: `inf1 needs the ${NEURON_INF1_DRIVER} driver, installed at boot from this cache`,
          key: "neuron:inf1-driver-cache",
          check: async ({ host }) =>
            ((await host.readDir(NEURON_PACKAGE_CACHE)) ?? []).some((n) =>
              n.startsWith(`aws-neuronx-dkms-${NEURON_INF1_DRIVER}.`) && n.endsWith(".rpm")
            ),
        },
      ),
      file(NEURON_INSTALL_SCRIPT, neuronInstall, { mode: 0o755 }),
      ...await unitChanges(ctx.host, { [NEURON_INSTALL_SERVICE]: renderNeuronInstallUnit() }, ENABLED),
    ];
    return out;
  },
};
