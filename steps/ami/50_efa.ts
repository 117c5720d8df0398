/**
 * `--efa`: the EFA installer, downloaded and checksum-verified against the pin of the versions
 * data (artifacts.efaInstaller: AWS's published SHA-256 of the pinned version), unpacked under
 * /var/lib/eksnode/efa-installer and run as `efa_installer.sh --minimal -y` on the build instance; then,
 * on an image without the NVIDIA driver, efa-nv-peermem erased (it loads the nvidia module at boot).
 * Follows templates/al2023/provisioners/install-efa.sh @ 81fec2e8, which checks the installer's GPG
 * signature instead of a pinned checksum. The C-state limit EFA wants is step 40's.
 */
import { exec, extract, note, remove } from "../../lib/changes.ts";
import { installedVersion } from "../../lib/packages.ts";
import type { Change } from "../../lib/step.ts";
import { EFA_INSTALLED_MARKER, EFA_INSTALLER_DIR } from "../../eks/image/accelerators.ts";
import { amiPackageTarget } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";
import { notThisVariant, onBuildInstance } from "./variant_changes.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "EFA: install the EFA software with its verified installer",
  group: "EFA",
  async plan(ctx) {
    if (!ctx.bake.efa) return notThisVariant("EFA", "--efa");
    const { host } = ctx;
    const out: Change[] = [];
    if (await host.exists(EFA_INSTALLED_MARKER)) {
      out.push(note(`EFA software installed (${EFA_INSTALLED_MARKER} lists it)`));
    } else {
      out.push(
        extract(await ctx.artifact("efaInstaller"), EFA_INSTALLER_DIR, { strip: 1 }),
        onBuildInstance(ctx, ["env", "-C", EFA_INSTALLER_DIR, "./efa_installer.sh", "--minimal", "-y"], {
          why: "the installer builds the EFA kernel module and installs libfabric on the build instance",
          key: "efa:installer",
          check: ({ host }) => host.exists(EFA_INSTALLED_MARKER),
        }),
      );
      // The unpacked installer is not kept in the image once it has run.
      if (host.isSystemRoot && ctx.packageManager !== "none") {
        out.push(remove(EFA_INSTALLER_DIR, { recursive: true }));
      }
    }
    if (
      ctx.bake.accelerator !== "nvidia" && host.isSystemRoot &&
      (ctx.packageManager === "dnf" || ctx.packageManager === "yum")
    ) {
      const { target } = await amiPackageTarget(ctx);
      out.push(exec(["rpm", "-e", "--nodeps", "efa-nv-peermem"], {
        why: "no NVIDIA driver on this image: efa-nv-peermem would fail to load the nvidia module at boot",
        key: "efa:nv-peermem-removed",
        check: async ({ host }) =>
          (await installedVersion(host, target, { name: "efa-nv-peermem" })) === undefined,
      }));
    }
    return out;
  },
};
