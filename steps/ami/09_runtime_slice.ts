/** Runtime.slice, the cgroup slice containerd and kubelet run in (assets/templates/runtime.slice). */
import runtimeSlice from "../../assets/templates/runtime.slice" with { type: "text" };
import { file } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** The unit's content. */
export const RUNTIME_SLICE: string = runtimeSlice;

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Install /etc/systemd/system/runtime.slice",
  group: "Linux",
  plan: () => [file("/etc/systemd/system/runtime.slice", RUNTIME_SLICE)],
};
