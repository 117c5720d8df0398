/**
 * The pause image in containerd's k8s.io namespace, pinned (io.cri-containerd.pinned, as
 * amazon-eks-ami templates/shared/runtime/bin/cache-pause-container does) so image garbage collection
 * keeps it, and tagged with its name in every region of the partition. On the running system
 * containerd is restarted first when step 17 changed its config.
 */
import { note } from "../../lib/changes.ts";
import { imageLabeled } from "../../lib/container_images.ts";
import type { Change } from "../../lib/step.ts";
import { exec } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { CONTAINERD_CONFIG } from "../../eks/paths/node.ts";
import { bakeSandboxImage, cacheImage, imageCacheTarget, pauseRegistryImage } from "./image_cache.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Cache the pause image",
  group: "Containerd",
  async plan(ctx) {
    const t = await imageCacheTarget(ctx);
    if ("skip" in t) return [note(t.skip)];
    const out: Change[] = [];
    if (ctx.host.isSystemRoot) {
      out.push(exec(["systemctl", "restart", "containerd.service"], {
        why: "its config changed",
        key: "unit-restarted:containerd.service",
        whenChanged: [CONTAINERD_CONFIG],
      }));
    }
    const { ref, changes } = cacheImage(t, pauseRegistryImage(ctx));
    out.push(...changes);
    const sandbox = bakeSandboxImage(ctx);
    out.push(imageLabeled(t.store, ref, "io.cri-containerd.pinned", "pinned"));
    if (sandbox !== ref) out.push(imageLabeled(t.store, sandbox, "io.cri-containerd.pinned", "pinned"));
    return out;
  },
};
