/**
 * Prepare image caching: find the containerd to cache into (bake `containerd_address`, or the
 * system's when --root is /, started there if it is not running) and check it answers
 * (`ctr -n k8s.io images ls`). Without one, caching is skipped with a note saying why.
 */
import { note } from "../../lib/changes.ts";
import { containerdAnswers } from "../../lib/container_images.ts";
import type { Change } from "../../lib/step.ts";
import { placeOf } from "../../lib/place.ts";
import { startUnit } from "../../lib/systemd.ts";
import type { AmiStepDef } from "./context.ts";
import { cacheTargetNote, DEFAULT_CONTAINERD_ADDRESS, imageCacheTarget } from "./image_cache.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Prepare image caching (containerd k8s.io namespace)",
  group: "Containerd",
  async plan(ctx) {
    const t = await imageCacheTarget(ctx);
    if ("skip" in t) return [note(t.skip)];
    const out: Change[] = [cacheTargetNote(t)];
    if (ctx.host.isSystemRoot && t.store.target.address === DEFAULT_CONTAINERD_ADDRESS) {
      out.push(...startUnit("containerd.service", (await placeOf(ctx.host)).systemd));
    }
    out.push(containerdAnswers(t.store));
    return out;
  },
};
