/**
 * What every `eksnode init` step receives: the node's settings, fully resolved from instance metadata,
 * user data / NodeConfig / bootstrap.sh flags and the cluster (eks/node_settings.ts computes them;
 * cli/init.ts gathers the inputs). Steps only render files and units from these settings.
 */
import type { NodeSettings } from "../../eks/api/node_settings.ts";
import type { StepContext } from "../../lib/step.ts";

export type { NodeSettings };

/** The `eksnode init` step context. */
export interface InitContext extends StepContext {
  node: NodeSettings;
}
