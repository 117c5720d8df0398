/**
 * NodeConfig `spec.featureGates`: the gates nodeadm knows, their defaults and what each does in eksnode.
 * Source: awslabs/amazon-eks-ami nodeadm/api/v1alpha1/nodeconfig_types.go (the `Feature` enum) and
 * nodeadm/internal/api/featuregates.go (`featureVerifiers`: both DefaultFalse), commit 81fec2e8.
 * nodeadm's IsFeatureEnabled answers false for a gate it does not know; eksnode does the same and warns.
 */

/** One feature gate nodeadm knows. */
export interface FeatureGateInfo {
  /** Value when the gate is not set. */
  default: boolean;
  /** What turning it on does (for `config check` and the docs). */
  meaning: string;
}

/** Every gate nodeadm knows at commit 81fec2e8, by name. */
export const FEATURE_GATES = {
  InstanceIdNodeName: {
    default: false,
    meaning:
      "name the node by its EC2 instance id (kubelet --hostname-override=i-...) instead of its private DNS name",
  },
  FastImagePull: {
    default: false,
    meaning: "pull image layers in parallel (more CPU, memory and EBS I/O during pulls; " +
      "ignored on instances below nodeadm's size threshold)",
  },
} as const satisfies Record<string, FeatureGateInfo>;

/** A gate name nodeadm knows. */
export type FeatureGate = keyof typeof FEATURE_GATES;

/** The effective value of every known gate. */
export type FeatureGates = Record<FeatureGate, boolean>;

/** True for a gate name nodeadm knows. */
export function isKnownFeatureGate(name: string): name is FeatureGate {
  return Object.hasOwn(FEATURE_GATES, name);
}

/**
 * The effective value of every known gate for a NodeConfig's `featureGates` (unset gates take their
 * default; unknown names are ignored, see {@link unknownFeatureGates}).
 * @example resolveFeatureGates({ InstanceIdNodeName: true }).InstanceIdNodeName // true
 */
export function resolveFeatureGates(given: Readonly<Record<string, boolean>> | undefined): FeatureGates {
  const out = {} as FeatureGates;
  for (const name of Object.keys(FEATURE_GATES) as FeatureGate[]) {
    const value = given?.[name];
    out[name] = typeof value === "boolean" ? value : FEATURE_GATES[name].default;
  }
  return out;
}

/** The gate names in `given` that nodeadm does not know (they have no effect), sorted. */
export function unknownFeatureGates(given: Readonly<Record<string, boolean>> | undefined): string[] {
  return Object.keys(given ?? {}).filter((n) => !isKnownFeatureGate(n)).sort();
}
