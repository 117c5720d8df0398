/**
 * NVIDIA variant: NVIDIA's CUDA repository with GPG checks, and the driver's open module stream
 * enabled. Follows templates/al2023/provisioners/install-nvidia-driver.sh @ 81fec2e8, "Add repository".
 */
import type { Change } from "../../lib/step.ts";
import {
  DEFAULT_NVIDIA_DRIVER,
  NVIDIA_REPO_FILE,
  nvidiaDriver,
  renderNvidiaRepo,
} from "../../eks/image/accelerators.ts";
import type { AmiStepDef } from "./context.ts";
import { exec } from "../../lib/changes.ts";
import { isVariant, notThisVariant, repoFile } from "./variant_changes.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** dnf's record of an enabled module stream. */
export function moduleEnabled(text: string | undefined, stream: string): boolean {
  return text !== undefined && /^state\s*=\s*enabled\s*$/m.test(text) &&
    new RegExp(`^stream\\s*=\\s*${stream.replaceAll(".", "\\.")}\\s*$`, "m").test(text);
}

/** The step. */
export const step: AmiStepDef = {
  title: "NVIDIA: add NVIDIA's CUDA repository, enable the driver's open module stream",
  group: "NVIDIA",
  leaves: [expectFile(NVIDIA_REPO_FILE)],
  downloads: false,
  plan(ctx) {
    if (!isVariant(ctx, "nvidia")) return notThisVariant("NVIDIA repository", "--accelerator nvidia");
    const out: Change[] = repoFile(ctx, NVIDIA_REPO_FILE, renderNvidiaRepo(ctx.arch, ctx.region), "NVIDIA");
    if (ctx.packageManager !== "dnf") return out;
    const stream = `${
      nvidiaDriver(ctx.bake.nvidiaDriverVersion ?? DEFAULT_NVIDIA_DRIVER.version).major
    }-open`;
    const root = ctx.host.isSystemRoot ? [] : [`--installroot=${ctx.host.root}`];
    out.push(exec(["dnf", "-y", ...root, "module", "enable", `nvidia-driver:${stream}`], {
      why: "the driver packages come from this stream",
      key: "dnf-module:nvidia-driver",
      check: async ({ host }) =>
        moduleEnabled(await host.readText("/etc/dnf/modules.d/nvidia-driver.module"), stream),
    }));
    return out;
  },
};
