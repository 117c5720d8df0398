/**
 * AL2023 phase: ebs-initialize-bin@.service, enabled for containerd and kubelet, which reads
 * each binary once at boot so the lazily loaded EBS blocks of a new volume are fetched before the node
 * needs them. Follows templates/al2023/runtime/rootfs/etc/systemd/system/ebs-initialize-bin@.service and
 * install-worker.sh @ 81fec2e8 (`systemctl enable ebs-initialize-bin@containerd`, `@kubelet`).
 */
import {
  EBS_INITIALIZE_TEMPLATE,
  EBS_INITIALIZE_UNITS,
  PHASE_UNIT_DIR,
  renderEbsInitializeUnit,
} from "../../eks/image/al2023.ts";
import type { AmiStepDef } from "./context.ts";
import { unitChanges } from "./unit_changes.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install ebs-initialize-bin@.service for containerd and kubelet (EBS blocks read at boot)",
  enables: EBS_INITIALIZE_UNITS,
  group: "AL2023",
  leaves: [expectFile(`${PHASE_UNIT_DIR}/${EBS_INITIALIZE_TEMPLATE}`)],
  downloads: false,
  plan: (ctx) =>
    unitChanges(ctx.host, { [EBS_INITIALIZE_TEMPLATE]: renderEbsInitializeUnit() }, EBS_INITIALIZE_UNITS),
};
