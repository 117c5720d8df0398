/**
 * AL2023 phase: `/etc/systemd/network/99-default.link.d/99-no-policy.conf`, MACAddressPolicy=none
 * for every link, so udev does not give the VPC CNI's veth pairs a persistent MAC address of its own.
 * Follows templates/al2023/runtime/rootfs/etc/systemd/network/99-default.link.d/99-no-policy.conf @ 81fec2e8.
 *
 * Of AL2023's network runtime files this is the one eksnode installs. `etc/udev/rules.d/90-eks.rules`
 * and `udev-net-manager@.service` are left out on purpose: the rule enables, for every ENA/ixgbevf/vif
 * interface added, a unit that runs `nodeadm-internal udev-net-manager`, a program eksnode images do not
 * have (the rule would fail on every ENI attached), and that manager only makes sense beside
 * amazon-ec2-net-utils, which AL2023 keeps versionlocked while step 5 removes it, as the Amazon Linux 2
 * build did so that the VPC CNI alone configures the ENIs it attaches (docs/al2023.md, "Networking").
 */
import { file } from "../../lib/changes.ts";
import { LINK_POLICY_DROPIN, renderLinkPolicyDropin } from "../../eks/image/al2023.ts";
import type { AmiStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

export const step: AmiStepDef = {
  title: "Link policy: MACAddressPolicy=none (udev leaves the VPC CNI's veth MAC addresses alone)",
  group: "AL2023",
  leaves: [expectFile(LINK_POLICY_DROPIN)],
  downloads: false,
  plan: () => Promise.resolve([file(LINK_POLICY_DROPIN, renderLinkPolicyDropin(), { mode: 0o644 })]),
};
