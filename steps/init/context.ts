/**
 * What every `eksnode init` step receives: the node's settings, fully resolved from instance metadata,
 * user data / NodeConfig / bootstrap.sh flags and the cluster (eks/api/resolve_node_settings.ts computes them;
 * cli/init.ts gathers the inputs). Steps only render files and units from these settings.
 */
import type { NodeSettings } from "../../eks/api/node_settings.ts";
import type { StepContext, StepDef } from "../../lib/step.ts";
import type { ExpectedPath, ExpectedUnit } from "../../eks/verify/expected_path.ts";

export type { NodeSettings };

/** The services `eksnode init --daemon` names (nodeadm's daemons). */
export type InitDaemon = "containerd" | "kubelet";

/** The `eksnode init` step context. */
export interface InitContext extends StepContext {
  node: NodeSettings;
  /**
   * `--daemon` (nodeadm's, for testing): the daemons step 9 enables and starts; undefined means all. The
   * instance-store disks and bpffs units are set up whatever it says, as nodeadm's run-phase aspects are.
   */
  daemons?: readonly InitDaemon[];
}

/** An init step as its file defines it: its plan, and what it leaves on the node for `eksnode verify`. */
export interface InitStepDef extends StepDef<InitContext> {
  /** The directories and files this step writes, with their modes (optional ones: for some inputs only). */
  readonly leaves?: readonly ExpectedPath[];
  /** The units this step enables, for `eksnode verify --phase init`. */
  readonly enables?: readonly ExpectedUnit[];
}
