/** `systemctl daemon-reload` when a unit file or drop-in changed in this run. */
import { UNIT_FILES } from "../../eks/paths/node.ts";
import { otherServiceDropIns } from "../../eks/system/environment.ts";
import type { StepDef } from "../../lib/step.ts";
import { placeOf } from "../../lib/place.ts";
import { daemonReload } from "../../lib/systemd.ts";
import type { InitContext } from "./context.ts";

/** Reloads systemd when steps 2, 4 or 6 changed a unit; a note where systemd is not running (e.g. under --root). */
export const step: StepDef<InitContext> = {
  title: "systemctl daemon-reload",
  downloads: false,
  async plan(ctx) {
    // Also the environment drop-ins of services other than kubelet and containerd (instance.environment).
    return [
      daemonReload(
        [...UNIT_FILES, ...otherServiceDropIns(ctx.node.environment)],
        (await placeOf(ctx.host)).systemd,
      ),
    ];
  },
};
