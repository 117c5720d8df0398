/**
 * Where and how steps 16-20 cache images: which containerd (bake `containerd_address`, default
 * /run/containerd/containerd.sock under --root /), which registry to pull from (EKS's ECR for the bake
 * region with an ECR login, or bake `image_registry` without one), and which regions' names to tag.
 * When the image being baked has registry hosts in /etc/containerd/certs.d (the `config_path` the
 * node's containerd reads, see eks/containerd/config.ts), pulls go through them too
 * (`ctr images pull --hosts-dir`): a mirror or CA set up for the node also serves the bake.
 */
import { goarch } from "../../assets/versions.ts";
import { note } from "../../lib/changes.ts";
import { imagePulled, ImageStore, imageTagged, type RegistryLogin } from "../../lib/container_images.ts";
import type { Change } from "../../lib/step.ts";
import {
  addonImages,
  partitionRegions,
  regionalNames,
  type RegistryImage,
} from "../../eks/containerd/cached_images.ts";
import { ecrRegistry } from "../../eks/aws/ecr_registry.ts";
import { ecrAuthorizationToken } from "../../eks/aws/ecr_api.ts";
import { sandboxImage } from "../../eks/containerd/sandbox_image.ts";
import type { AmiContext } from "./context.ts";

export { DEFAULT_CONTAINERD_ADDRESS, K8S_NAMESPACE } from "../../lib/container_images.ts";
import { DEFAULT_CONTAINERD_ADDRESS, K8S_NAMESPACE } from "../../lib/container_images.ts";

/** Registry hosts directory (containerd's certs.d layout), under --root. */
export const REGISTRY_HOSTS_DIR = "/etc/containerd/certs.d";

/** A resolved cache target, or why there is none. */
export type CacheTarget =
  | { skip: string }
  | {
    store: ImageStore;
    /** Registry host images are pulled from. */
    pullRegistry: string;
    /** Set when pulling from ECR. */
    login?: () => Promise<RegistryLogin>;
    plainHttp: boolean;
    /** Real path of the root's registry hosts directory, when it exists. */
    hostsDir?: string;
    platform: string;
    tagRegions: string[];
  };

/** The sandbox (pause) image containerd's config names for this bake: the bake region's ECR name. */
export function bakeSandboxImage(ctx: AmiContext): string {
  return sandboxImage({
    region: ctx.region,
    fips: ctx.bake.fips,
    pauseContainerVersion: ctx.versions.images.pause.tag,
  });
}

/** The pause image as a registry image. */
export function pauseRegistryImage(ctx: AmiContext): RegistryImage {
  const p = ctx.versions.images.pause;
  return { repository: p.repository, tag: p.tag, label: "pause" };
}

/** Resolves the cache target of this bake. */
export async function imageCacheTarget(ctx: AmiContext): Promise<CacheTarget> {
  if (!ctx.bake.cacheImages) {
    return { skip: "image caching skipped: cache_images = false (or --no-cache-images)" };
  }
  const address = ctx.bake.containerdAddress ??
    (ctx.host.isSystemRoot ? DEFAULT_CONTAINERD_ADDRESS : undefined);
  if (!address) {
    return {
      skip:
        `image caching skipped: --root ${ctx.host.root} is not the running system and the bake config sets no containerd_address`,
    };
  }
  const ctr = await ctx.host.which("ctr");
  if (!ctr) return { skip: "image caching skipped: ctr not found on PATH" };
  const ecr = ecrRegistry({ region: ctx.region, fips: ctx.bake.fips });
  let login: (() => Promise<RegistryLogin>) | undefined;
  if (!ctx.bake.imageRegistry) {
    let memo: Promise<RegistryLogin> | undefined;
    login = () =>
      memo ??= ecrAuthorizationToken(ecr.registryRegion, { env: ctx.host.env }).then((c) => ({
        user: c.username,
        password: c.password,
      }));
  }
  const hostsDir = (await ctx.host.stat(REGISTRY_HOSTS_DIR))?.isDirectory
    ? ctx.host.real(REGISTRY_HOSTS_DIR)
    : undefined;
  return {
    store: new ImageStore({ ctr, address, namespace: K8S_NAMESPACE }),
    pullRegistry: ctx.bake.imageRegistry ?? ecr.registry,
    login,
    plainHttp: ctx.bake.plainHttp ?? false,
    hostsDir,
    platform: `linux/${goarch(ctx.arch)}`,
    tagRegions: ctx.bake.imageTagRegions ?? partitionRegions(ctx.region),
  };
}

/** Pull `img` from the pull registry, then tag it with its name in every tag region. */
export function cacheImage(
  t: Exclude<CacheTarget, { skip: string }>,
  img: RegistryImage,
): { ref: string; changes: Change[] } {
  const ref = `${t.pullRegistry}/${img.repository}:${img.tag}`;
  const changes: Change[] = [
    imagePulled(t.store, ref, {
      platform: t.platform,
      plainHttp: t.plainHttp,
      hostsDir: t.hostsDir,
      login: t.login,
      loginText: t.login ? "an ECR login (ecr:GetAuthorizationToken)" : undefined,
    }),
  ];
  const names = regionalNames(img, t.tagRegions).filter((n) => n !== ref);
  for (const n of names) changes.push(imageTagged(t.store, ref, n));
  return { ref, changes };
}

/**
 * Every image name steps 19-20 leave in containerd (pulled references, their regional tags, extra_images),
 * or undefined when this bake caches no images. Step 33 records the list in release.json for `eksnode verify`.
 */
export async function cachedImageNames(ctx: AmiContext): Promise<string[] | undefined> {
  const t = await imageCacheTarget(ctx);
  if ("skip" in t) return undefined;
  const names = new Set<string>();
  const addAll = (img: RegistryImage) => {
    const ref = `${t.pullRegistry}/${img.repository}:${img.tag}`;
    names.add(ref);
    for (const n of regionalNames(img, t.tagRegions)) names.add(n);
  };
  addAll(pauseRegistryImage(ctx));
  names.add(bakeSandboxImage(ctx));
  for (const img of addonImages(ctx.release.minor, ctx.release.addons).images) addAll(img);
  for (const ref of ctx.bake.extraImages) names.add(ref);
  return [...names].sort();
}

/** The plan line saying what a cache target is. */
export function cacheTargetNote(t: Exclude<CacheTarget, { skip: string }>): Change {
  return note(
    `images cache into containerd at ${t.store.target.address}, namespace ${K8S_NAMESPACE}, pulled from ${t.pullRegistry}` +
      `${t.login ? " with an ECR login" : t.plainHttp ? " over plain HTTP" : ""}${
        t.hostsDir ? `, through the registry hosts in ${REGISTRY_HOSTS_DIR}` : ""
      }, tagged for ${t.tagRegions.length} region(s)`,
  );
}
