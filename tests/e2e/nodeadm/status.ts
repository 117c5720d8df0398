/**
 * Which of nodeadm's e2e cases eksnode does not pass yet. One entry a case, with a one-line reason; a
 * case listed here still exists as a test, ignored so CI stays green, and runs with
 * `NODEADM_E2E_ALL=1`. Remove a line when the feature lands: the test then runs every assertion.
 * Cases that cannot apply to an eksnode node at all are in NOT_APPLICABLE below (not in spec.ts, their
 * files not copied).
 */
export const KNOWN_FAILING: Record<string, string> = {};

/** Cases that cannot apply to an eksnode node, with the reason (not in CASES, not copied). */
export const NOT_APPLICABLE: Record<string, string> = {
  "boot-hook":
    "tests `nodeadm-internal boot-hook`, which waits for systemd-networkd to configure secondary ENIs; an " +
    "eksnode node leaves secondary ENIs to the VPC CNI (ec2-net-utils removed, ami step 5) and has no such hook",
  "udev-net-manager":
    "tests `nodeadm-internal udev-net-manager`, nodeadm's udev hook writing systemd-networkd files per ENI; an " +
    "eksnode node leaves interfaces to the distribution and secondary ENIs to the VPC CNI (ami step 5)",
};
