/**
 * AL2023 phase: the SOCI snapshotter's units, its socket enabled (the service starts when
 * containerd first dials it), and its directories: /etc/soci-snapshotter-grpc, where `eksnode init` writes
 * the config with the FastImagePull feature gate (eks/containerd/soci.ts), and its store
 * /var/lib/soci-snapshotter-grpc, which setup-local-disks binds onto instance storage unless
 * `disabledMounts: [SOCI]`. Follows templates/al2023/runtime/rootfs/etc/systemd/system/soci-snapshotter.*
 * and install-worker.sh @ 81fec2e8 (`systemctl enable soci-snapshotter.socket`).
 */
import { dir } from "../../lib/changes.ts";
import { SOCI_ROOT, SOCI_SERVICE } from "../../eks/containerd/soci.ts";
import {
  PHASE_UNIT_DIR,
  renderSociService,
  renderSociSocket,
  SOCI_CONFIG_DIR,
  SOCI_SOCKET_UNIT,
} from "../../eks/image/al2023.ts";
import type { AmiStepDef } from "./context.ts";
import { unitChanges } from "./unit_changes.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The unit this step enables: the socket starts the snapshotter on first use. */
const ENABLED = [SOCI_SOCKET_UNIT];

/** The step. */
export const step: AmiStepDef = {
  title: "Install the SOCI snapshotter's units, enable its socket, make its directories",
  enables: ENABLED,
  group: "AL2023",
  leaves: [
    expectDir(SOCI_CONFIG_DIR),
    expectDir(SOCI_ROOT, 0o700),
    expectFile(`${PHASE_UNIT_DIR}/${SOCI_SERVICE}`),
    expectFile(`${PHASE_UNIT_DIR}/${SOCI_SOCKET_UNIT}`),
  ],
  downloads: false,
  async plan(ctx) {
    return [
      dir(SOCI_CONFIG_DIR, { mode: 0o755 }),
      // The snapshotter keeps image layers here; only root reads them.
      dir(SOCI_ROOT, { mode: 0o700 }),
      ...await unitChanges(
        ctx.host,
        { [SOCI_SERVICE]: renderSociService(), [SOCI_SOCKET_UNIT]: renderSociSocket() },
        ENABLED,
      ),
    ];
  },
};
