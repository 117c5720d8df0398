/**
 * Which of nodeadm's e2e cases eksnode does not pass yet. One entry a case, with a one-line reason; a
 * case listed here still exists as a test, ignored so CI stays green, and runs with
 * `NODEADM_E2E_ALL=1`. Remove a line when the feature lands: the test then runs every assertion.
 * Cases that cannot apply to an eksnode node at all are in NOT_APPLICABLE below (not in spec.ts, their
 * files not copied).
 */
export const KNOWN_FAILING: Record<string, string> = {
  "aws-api-connection-timeout":
    "eksnode takes the node name from IMDS and calls no AWS API for this input, so nothing waits on the " +
    "dead endpoint (nodeadm: EC2 DescribeInstances for PrivateDnsName, AWS_MAX_ATTEMPTS, 30 s connect timeout)",
  "config-cache": "no --config-cache, no --skip config phase",
  "containerd-base-runtime-spec":
    "containerd.baseRuntimeSpec is accepted and ignored: no base OCI spec file is written",
  "containerdv1-config": "only a containerd 2 (version 3) config is written, none containerd 1.7 reads",
  "containerdv1-runtime-config-neuron":
    "only a containerd 2 (version 3) config is written, none containerd 1.7 reads",
  "containerdv1-runtime-config-nvidia":
    "only a containerd 2 (version 3) config is written, none containerd 1.7 reads; no nvidia runtime",
  "containerdv2-config": "the runc runtime has no BinaryName /usr/sbin/runc and no base_runtime_spec",
  "containerdv2-runtime-config-neuron":
    "the runc runtime has no BinaryName /usr/sbin/runc and no base_runtime_spec",
  "containerdv2-runtime-config-nvidia":
    "no nvidia runtime (default) when nvidia-container-runtime is installed",
  "custom-max-pods-expression": "kubelet.maxPodsExpression is an unknown field",
  "imds-timeouts": "IMDS reads give up after 8 tries, before an IMDS that comes up 10 s late answers",
  "kubelet-config-new-instance-type": "an instance type EC2 does not know is an error, not maxPods 110",
  "kubelet-config-set-empty":
    "kubelet 1.35 defaults missing: featureGates DynamicResourceAllocation and MutableCSINodeAllocatableCount, " +
    "shutdownGracePeriod 2m30s, shutdownGracePeriodCriticalPods 30s",
  "mime-userdata-merge":
    "kubelet 1.35 defaults missing: featureGates DynamicResourceAllocation and MutableCSINodeAllocatableCount, " +
    "shutdownGracePeriod 2m30s, shutdownGracePeriodCriticalPods 30s",
  "network-name-resolution": "instance.network (nameservers, domains) is an unknown field",
  "nodeadm-environment-config": "instance.environment is a flat map, not default/kubelet/containerd",
  "nodeadm-http-proxy":
    "instance.environment is a flat map, not default/kubelet/containerd; init makes no EC2 call to route",
};

/** Cases that cannot apply to an eksnode node, with the reason (not in CASES, not copied). */
export const NOT_APPLICABLE: Record<string, string> = {
  "boot-hook":
    "tests `nodeadm-internal boot-hook`, which waits for systemd-networkd to configure secondary ENIs; an " +
    "eksnode node leaves secondary ENIs to the VPC CNI (ec2-net-utils removed, ami step 5) and has no such hook",
  "udev-net-manager":
    "tests `nodeadm-internal udev-net-manager`, nodeadm's udev hook writing systemd-networkd files per ENI; an " +
    "eksnode node leaves interfaces to the distribution and secondary ENIs to the VPC CNI (ami step 5)",
};
