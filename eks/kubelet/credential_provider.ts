/**
 * `/etc/eks/image-credential-provider/config.json`: the kubelet CredentialProviderConfig that hands
 * ECR images to `ecr-credential-provider`.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - nodeadm `nodeadm/internal/kubelet/image-credential-provider.go` (commit 2e8fa251) and bootstrap.sh
 *   (commit 029f7c7d): Kubernetes < 1.27 → `kubelet.config.k8s.io/v1alpha1` and
 *   `credentialprovider.kubelet.k8s.io/v1alpha1` (ecr-credential-provider only spoke v1alpha1 before
 *   1.27.1, kubernetes/cloud-provider-aws#597); ≥ 1.27 → `kubelet.config.k8s.io/v1` and
 *   `credentialprovider.kubelet.k8s.io/v1`. Upstream never uses v1beta1, so neither does this.
 * - The later nodeadm revision of the same file (current main in the search index): matchImages for
 *   every partition's `*.dkr.ecr.*.SUFFIX`, dual-stack `*.dkr-ecr.*.on.aws` /
 *   `*.dkr-ecr.*.on.amazonwebservices.com.cn`, FIPS `*.dkr.ecr-fips.*.amazonaws.com` /
 *   `*.dkr-ecr-fips.*.on.aws`, `public.ecr.aws`, and `ecr-public.aws.com` from kubelet 1.32
 *   (cloud-provider-aws#1332); defaultCacheDuration 12h.
 * The `*.dkr.ecr.*.SUFFIX` patterns are built from the SDK's partition DNS suffixes (eks/aws/ecr_registry.ts); the
 * dual-stack and public names are not in that data, so they are listed here.
 */
import { ConfigError } from "../../lib/errors.ts";
import { ECR_FIPS_REGIONS, ecrPartitions, partitionOf } from "../aws/ecr_registry.ts";

/** The two apiVersion strings of the config for a Kubernetes version. */
export interface CredentialProviderApiVersions {
  /** The file's own apiVersion (`kubelet.config.k8s.io/...`). */
  config: string;
  /** The provider exec API (`credentialprovider.kubelet.k8s.io/...`). */
  provider: string;
}

/** Inputs of {@link renderCredentialProviderConfig}. */
export interface CredentialProviderConfigInput {
  /** Kubelet version: "1.30", "v1.30.2", "1.30.2-eks-1552ad0"... */
  kubernetesVersion: string;
  /** Provider (binary) name; default "ecr-credential-provider". */
  providerName?: string;
  /** Extra image patterns to hand to the provider (e.g. a pull-through cache host), appended. */
  extraMatchImages?: readonly string[];
}

/** The provider's cache lifetime, as upstream writes it. */
export const DEFAULT_CACHE_DURATION = "12h";
/** The default provider binary name. */
export const ECR_PROVIDER_NAME = "ecr-credential-provider";

/** Dual-stack ECR hosts by partition DNS suffix (not in the SDK's partition data). */
const DUAL_STACK_ECR_DOMAINS: Readonly<Record<string, string>> = {
  "amazonaws.com": "on.aws",
  "amazonaws.com.cn": "on.amazonwebservices.com.cn",
};

/** Splits a kubelet version into major and minor; throws ConfigError when it is not one. */
export function kubeMinorVersion(version: string): { major: number; minor: number } {
  const m = /^v?([0-9]+)\.([0-9]+)(?:\.[0-9]+)?(?:[-+].*)?$/.exec(version.trim());
  if (!m) {
    throw new ConfigError(
      `Kubernetes version ${JSON.stringify(version)} is not MAJOR.MINOR[.PATCH]`,
      'write it like "1.30" or "v1.30.2"',
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function atLeast(version: string, major: number, minor: number): boolean {
  const v = kubeMinorVersion(version);
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** The apiVersions for a kubelet version: v1 from 1.27, v1alpha1 before. */
export function credentialProviderApiVersions(kubernetesVersion: string): CredentialProviderApiVersions {
  return atLeast(kubernetesVersion, 1, 27)
    ? { config: "kubelet.config.k8s.io/v1", provider: "credentialprovider.kubelet.k8s.io/v1" }
    : { config: "kubelet.config.k8s.io/v1alpha1", provider: "credentialprovider.kubelet.k8s.io/v1alpha1" };
}

/** The ECR image patterns for a kubelet version, one per partition domain plus FIPS, dual-stack and public. */
export function ecrMatchImages(kubernetesVersion: string): string[] {
  const suffixes = [...new Set(ecrPartitions().map((p) => p.dnsSuffix))];
  const fipsSuffixes = new Set(ECR_FIPS_REGIONS.map((r) => partitionOf(r).dnsSuffix));
  const out: string[] = [];
  for (const s of suffixes) {
    out.push(`*.dkr.ecr.*.${s}`);
    const dual = DUAL_STACK_ECR_DOMAINS[s];
    if (dual) out.push(`*.dkr-ecr.*.${dual}`);
    if (fipsSuffixes.has(s)) {
      out.push(`*.dkr.ecr-fips.*.${s}`);
      if (dual) out.push(`*.dkr-ecr-fips.*.${dual}`);
    }
  }
  out.push("public.ecr.aws");
  if (atLeast(kubernetesVersion, 1, 32)) out.push("ecr-public.aws.com");
  return out;
}

/** Renders the config file: stable key order, two-space indent, ending in "\n". */
export function renderCredentialProviderConfig(input: CredentialProviderConfigInput): string {
  const api = credentialProviderApiVersions(input.kubernetesVersion);
  const name = input.providerName ?? ECR_PROVIDER_NAME;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new ConfigError(`credential provider name ${JSON.stringify(name)} is not a plain file name`);
  }
  const matchImages = [...ecrMatchImages(input.kubernetesVersion)];
  for (const extra of input.extraMatchImages ?? []) {
    if (!matchImages.includes(extra)) matchImages.push(extra);
  }
  const config = {
    apiVersion: api.config,
    kind: "CredentialProviderConfig",
    providers: [{
      name,
      matchImages,
      defaultCacheDuration: DEFAULT_CACHE_DURATION,
      apiVersion: api.provider,
    }],
  };
  return JSON.stringify(config, null, 2) + "\n";
}
