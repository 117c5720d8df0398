/**
 * Overlay and br_netfilter load at boot (/etc/modules-load.d/containerd.conf) and, on the
 * running system, now. A module counts as loaded when /sys/module/NAME exists (that also covers
 * modules built into the kernel, which /proc/modules and lsmod do not list). Where modules cannot be
 * loaded (under --root, in a container or a chroot, or without the running kernel's /lib/modules:
 * lib/place.ts) loading is a note saying why; anywhere else a failing modprobe fails the step.
 */
import { exec, file, note } from "../../lib/changes.ts";
import { placeOf } from "../../lib/place.ts";
import type { Change } from "../../lib/step.ts";
import { moduleNames, MODULES_CONF, MODULES_LOAD_FILE } from "../../eks/system/kernel_modules.ts";
import type { AmiStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Load overlay and br_netfilter (now and at boot)",
  group: "Containerd",
  leaves: [expectFile(MODULES_LOAD_FILE)],
  async plan(ctx) {
    const out: Change[] = [file(MODULES_LOAD_FILE, MODULES_CONF)];
    const cannot = (await placeOf(ctx.host)).modules;
    if (!ctx.host.isSystemRoot) {
      out.push(note(`modprobe skipped: ${cannot} (modules load at the image's boot)`));
      return out;
    }
    const modprobe = (await ctx.host.which("modprobe")) ?? (await ctx.host.which("/sbin/modprobe"));
    for (const m of moduleNames(MODULES_CONF)) {
      const loaded = async () =>
        (await ctx.host.exists(`/sys/module/${m}`)) ||
        ((await ctx.host.readText("/proc/modules")) ?? "").split("\n").some((l) => l.startsWith(`${m} `));
      if (cannot) {
        out.push(note(
          `modprobe ${m} skipped: ${cannot} (${
            (await loaded()) ? "already loaded in the running kernel" : "not loaded now"
          }; the image loads it at boot from /etc/modules-load.d/containerd.conf)`,
        ));
        continue;
      }
      if (!modprobe) {
        out.push(
          note(
            `modprobe ${m} skipped: modprobe not found (${
              (await loaded()) ? "already loaded" : "not loaded"
            })`,
          ),
        );
        continue;
      }
      out.push(exec([modprobe, m], { why: "containerd needs it now", key: `modprobe:${m}`, check: loaded }));
    }
    return out;
  },
};
