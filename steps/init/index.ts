/** The 9 instance steps of `eksnode init`, in order. */
import { numberSteps, type Step } from "../../lib/step.ts";
import type { InitContext, InitStepDef } from "./context.ts";
import type { ExpectedPath, ExpectedUnit } from "../../eks/verify/expected_path.ts";
import { step as s01 } from "./01_credential_provider.ts";
import { step as s02 } from "./02_containerd_config.ts";
import { step as s03 } from "./03_kubelet_containerd_unit.ts";
import { step as s04 } from "./04_sandbox_image_unit.ts";
import { step as s05 } from "./05_kubeconfig.ts";
import { step as s06 } from "./06_kubelet_unit.ts";
import { step as s07 } from "./07_kubelet_config.ts";
import { step as s08 } from "./08_daemon_reload.ts";
import { step as s09 } from "./09_start_services.ts";

/**
 * The steps by nodeadm's init phases (nodeadm/cmd/nodeadm/init/init.go, commit 81fec2e8), numbered by
 * their place here (lib/step.ts `numberSteps`): `config` writes every file and reloads systemd, `run`
 * enables and starts the services, as nodeadm's config phase configures its daemons and its run phase
 * starts them.
 */
const NUMBERED = numberSteps("init", {
  config: [s01, s02, s03, s04, s05, s06, s07, s08],
  run: [s09],
});

/** All init steps in order. */
export const INIT_STEPS: (InitStepDef & Step<InitContext>)[] = [...NUMBERED.config, ...NUMBERED.run];

/** nodeadm's init phases, as `--skip config|run` names them. */
export type InitPhase = "config" | "run";

/** The step numbers of each phase. */
export const INIT_PHASES: Readonly<Record<InitPhase, readonly number[]>> = {
  config: NUMBERED.config.map((s) => s.number),
  run: NUMBERED.run.map((s) => s.number),
};

/**
 * The directories and files `eksnode init` leaves on a node, as its steps declare them (`leaves`), in
 * step order: what `eksnode verify --phase init` checks beside the image's.
 * @example nodeLeaves().some((p) => p.path === "/etc/kubernetes/kubelet/kubelet-config.json") // true
 */
export function nodeLeaves(): ExpectedPath[] {
  return INIT_STEPS.flatMap((s) => [...(s.leaves ?? [])]);
}

/**
 * The units `eksnode init` enables, as its steps declare them (`enables`): what `eksnode verify --phase
 * init` expects enabled beside the image's.
 * @example nodeUnits().some((u) => u.unit === "kubelet.service") // true
 */
export function nodeUnits(): ExpectedUnit[] {
  return INIT_STEPS.flatMap((s) => [...(s.enables ?? [])]);
}
