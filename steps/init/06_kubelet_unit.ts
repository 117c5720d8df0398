/** Step 6: installs the kubelet unit and its environment drop-in. */
import { KUBELET_ENV_DROPIN, KUBELET_UNIT } from "../../eks/node_paths.ts";
import { renderKubeletUnit } from "../../eks/node_units.ts";
import { file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";
import { environmentDropIn } from "./env_dropin.ts";

/** Writes /etc/systemd/system/kubelet.service (the unit of step 3) and kubelet.service.d/10-eksnode-env.conf. */
export const step: Step<InitContext> = {
  id: "init.6",
  number: 6,
  title: "Install /etc/systemd/system/kubelet.service",
  plan(ctx) {
    return [
      file(KUBELET_UNIT, renderKubeletUnit(ctx.node), { mode: 0o644 }),
      environmentDropIn(KUBELET_ENV_DROPIN, ctx.node.environment),
    ];
  },
};
