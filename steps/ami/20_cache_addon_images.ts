/**
 * Kube-proxy (kube-proxy-minimal from 1.24) and the VPC CNI images (amazon-k8s-cni,
 * amazon-k8s-cni-init) at the add-on's default and latest versions from the versions data, tagged
 * for every region of the partition (see eks/containerd/cached_images.ts for the source). An unknown (null)
 * version is a note. The bake config's `extra_images` (full references) are pulled as given, without
 * an ECR login (over plain HTTP when their registry is the bake's `image_registry` with `plain_http`).
 */
import { note } from "../../lib/changes.ts";
import { imagePulled } from "../../lib/container_images.ts";
import type { Change } from "../../lib/step.ts";
import { addonImages } from "../../eks/containerd/cached_images.ts";
import type { AmiStepDef } from "./context.ts";
import { cacheImage, imageCacheTarget } from "./image_cache.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Cache kube-proxy and VPC CNI images (and extra_images)",
  group: "Containerd",
  async plan(ctx) {
    const { images, notes } = addonImages(ctx.release.minor, ctx.release.addons);
    const out: Change[] = notes.map((n) => note(n));
    const t = await imageCacheTarget(ctx);
    if ("skip" in t) return [...out, note(t.skip)];
    if (images.length === 0) out.push(note("no add-on image to cache"));
    for (const img of images) out.push(...cacheImage(t, img).changes);
    for (const ref of ctx.bake.extraImages) {
      const plainHttp = t.plainHttp && ref.split("/")[0] === ctx.bake.imageRegistry;
      out.push(imagePulled(t.store, ref, { platform: t.platform, plainHttp, hostsDir: t.hostsDir }));
    }
    return out;
  },
};
