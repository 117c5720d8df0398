/**
 * The container images an EKS AMI caches, and the other names they are tagged with so a node in any
 * region of the partition finds them locally. Pure functions.
 *
 * Source: awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada
 * ("Cache Images"): kube-proxy at the add-on's default and latest version (`VERSION-eksbuild.N`, and
 * `VERSION-minimal-eksbuild.N`; "only kube-proxy-minimal is vended for K8s 1.24+"), amazon-k8s-cni and
 * amazon-k8s-cni-init at the VPC CNI add-on's default and latest version, each tagged for every region of
 * the partition with that region's registry, plus the `dkr.ecr-fips` name where the region has one, plus
 * the CNI tag without `-eksbuild.1`. The pause image is cached as in templates/shared/runtime/bin/cache-pause-container.
 */
import { ECR_ACCOUNT_RULES, ecrFipsAvailable, ecrRegistry, partitionOf } from "../aws/ecr_registry.ts";

/** An image inside the EKS registry: repository path and tag. */
export interface RegistryImage {
  /** e.g. "eks/kube-proxy", "amazon-k8s-cni". */
  repository: string;
  tag: string;
  /** What it is, for plans: "kube-proxy-minimal latest". */
  label: string;
}

/** Add-on versions of one Kubernetes release (null: unknown). */
export interface AddonVersions {
  kubeProxy: { default: string | null; latest: string | null };
  vpcCni: { default: string | null; latest: string | null };
}

/** The images to cache and a note for each version that is unknown. */
export interface AddonImages {
  images: RegistryImage[];
  notes: string[];
}

/**
 * kube-proxy's image tag for an add-on version: "v1.32.3-eksbuild.7" → "v1.32.3-eksbuild.7", or with
 * `minimal` → "v1.32.3-minimal-eksbuild.7".
 */
export function kubeProxyTag(addonVersion: string, minimal: boolean): string {
  const i = addonVersion.indexOf("-");
  if (!minimal || i < 0) return addonVersion;
  return `${addonVersion.slice(0, i)}-minimal-${addonVersion.slice(i + 1)}`;
}

function minorAtLeast(minor: string, want: [number, number]): boolean {
  const [a, b] = minor.split(".").map(Number);
  return a > want[0] || (a === want[0] && b >= want[1]);
}

/** kube-proxy and VPC CNI images for a Kubernetes minor version and its add-on versions (deduplicated). */
export function addonImages(kubernetesMinor: string, addons: AddonVersions): AddonImages {
  const images: RegistryImage[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const add = (img: RegistryImage) => {
    const k = `${img.repository}:${img.tag}`;
    if (!seen.has(k)) {
      seen.add(k);
      images.push(img);
    }
  };
  const minimalOnly = minorAtLeast(kubernetesMinor, [1, 24]);
  for (const which of ["default", "latest"] as const) {
    const kp = addons.kubeProxy[which];
    if (kp === null) {
      notes.push(
        `kube-proxy ${which} add-on version for ${kubernetesMinor} is unknown (null in versions data): not cached`,
      );
    } else {
      if (!minimalOnly) {
        add({ repository: "eks/kube-proxy", tag: kubeProxyTag(kp, false), label: `kube-proxy ${which}` });
      }
      add({
        repository: "eks/kube-proxy",
        tag: kubeProxyTag(kp, true),
        label: `kube-proxy-minimal ${which}`,
      });
    }
    const cni = addons.vpcCni[which];
    if (cni === null) {
      notes.push(
        `VPC CNI ${which} add-on version for ${kubernetesMinor} is unknown (null in versions data): not cached`,
      );
    } else {
      add({ repository: "amazon-k8s-cni", tag: cni, label: `amazon-k8s-cni ${which}` });
      add({ repository: "amazon-k8s-cni-init", tag: cni, label: `amazon-k8s-cni-init ${which}` });
    }
  }
  return { images, notes };
}

/** The regions of `region`'s partition that the ECR account table names (no wildcards), in table order. */
export function partitionRegions(region: string): string[] {
  const part = partitionOf(region).id;
  return ECR_ACCOUNT_RULES.filter((r) => !r.pattern.includes("*") && partitionOf(r.pattern).id === part)
    .map((r) => r.pattern);
}

/**
 * Every name under which a node in one of `regions` may ask for `img`: the region's registry and, where it
 * has one, its FIPS registry; CNI tags ending in `-eksbuild.1` also without that suffix.
 */
export function regionalNames(img: RegistryImage, regions: readonly string[]): string[] {
  const out = new Set<string>();
  const tags = [img.tag];
  if (img.repository.startsWith("amazon-k8s-cni") && img.tag.endsWith("-eksbuild.1")) {
    tags.push(img.tag.slice(0, -"-eksbuild.1".length));
  }
  for (const region of regions) {
    const hosts = [ecrRegistry({ region }).registry];
    if (ecrFipsAvailable(ecrRegistry({ region }).registryRegion)) {
      hosts.push(ecrRegistry({ region, fips: true }).registry);
    }
    for (const h of hosts) for (const t of tags) out.add(`${h}/${img.repository}:${t}`);
  }
  return [...out];
}
