/** The 9 instance steps of `eksnode init`, in order. */
import type { Step } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";
import { step as s01 } from "./01_credential_provider.ts";
import { step as s02 } from "./02_containerd_config.ts";
import { step as s03 } from "./03_kubelet_containerd_unit.ts";
import { step as s04 } from "./04_sandbox_image_unit.ts";
import { step as s05 } from "./05_kubeconfig.ts";
import { step as s06 } from "./06_kubelet_unit.ts";
import { step as s07 } from "./07_kubelet_config.ts";
import { step as s08 } from "./08_daemon_reload.ts";
import { step as s09 } from "./09_start_services.ts";

/** All init steps in order. */
export const INIT_STEPS: Step<InitContext>[] = [
  s01,
  s02,
  s03,
  s04,
  s05,
  s06,
  s07,
  s08,
  s09,
];

/** nodeadm's init phases (nodeadm/cmd/nodeadm/init/init.go, commit 81fec2e8), as `--skip config|run` names them. */
export type InitPhase = "config" | "run";

/**
 * The steps of each phase: `config` writes every file and reloads systemd (steps 1-8), `run` enables
 * and starts the services (step 9), as nodeadm's config phase configures its daemons and its run phase
 * starts them.
 */
export const INIT_PHASES: Readonly<Record<InitPhase, readonly number[]>> = {
  config: INIT_STEPS.filter((s) => s !== s09).map((s) => s.number),
  run: [s09.number],
};
