/**
 * AL2023 phase: kernel arguments. The TSC clock source on every x86_64 image
 * (templates/al2023/provisioners/set-clocksource.sh @ 81fec2e8) and, with `--efa`, no deep C-states
 * (limit-c-states.sh). As runtime/bin/set-kernel-arg does: into GRUB_CMDLINE_LINUX of /etc/default/grub
 * (kept when the boot config is regenerated) and into the current boot entries (grubby on dnf and yum,
 * update-grub on apt), the latter on the running system only. They take effect at the image's next boot.
 */
import { exec, file, note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { hasArgs, kernelArgs, withGrubArgs } from "../../eks/image/al2023.ts";
import type { AmiStepDef } from "./context.ts";

/** The grub defaults file. */
export const GRUB_DEFAULTS = "/etc/default/grub";

/** The step. */
export const step: AmiStepDef = {
  title: "Kernel arguments: TSC clock source; with EFA, no deep C-states",
  group: "AL2023",
  downloads: false,
  async plan(ctx) {
    const { host } = ctx;
    const args = kernelArgs(ctx.arch, ctx.bake.efa === true);
    if (!args.length) {
      return [
        note(`no kernel arguments for ${ctx.arch}: the TSC clock source and C-state limits are x86_64's`),
      ];
    }
    const current = (await host.readText(GRUB_DEFAULTS)) ?? "";
    const mode = (await host.stat(GRUB_DEFAULTS))?.mode ?? 0o644;
    const out: Change[] = [file(GRUB_DEFAULTS, withGrubArgs(current, args), { mode })];
    if (!host.isSystemRoot) {
      out.push(
        note(
          `boot entries not updated: --root is not the running system (${GRUB_DEFAULTS} carries ${
            args.join(" ")
          })`,
        ),
      );
      return out;
    }
    const joined = args.join(" ");
    if (ctx.packageManager === "apt") {
      out.push(exec(["update-grub"], { why: `${GRUB_DEFAULTS} changed`, whenChanged: [GRUB_DEFAULTS] }));
    } else {
      out.push(exec(["grubby", "--update-kernel=ALL", `--args=${joined}`], {
        why: "add them to every boot entry",
        key: "grubby:kernel-args",
        check: async ({ host }) => {
          const r = await host.exec(["grubby", "--info=ALL"], { allowFailure: true });
          const entries = r.stdout.split("\n").filter((l) => l.startsWith("args="));
          return r.code === 0 && entries.length > 0 &&
            entries.every((l) => hasArgs(l.slice(5).replace(/^"|"$/g, ""), args));
        },
      }));
    }
    return out;
  },
};
