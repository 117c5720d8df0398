/** Runtime.slice, the cgroup slice containerd and kubelet run in (assets/templates/runtime.slice). */
import runtimeSlice from "../../assets/templates/runtime.slice" with { type: "text" };
import { file } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The unit's content. */
export const RUNTIME_SLICE: string = runtimeSlice;

/** The step. */
export const step: AmiStepDef = {
  title: "Install /etc/systemd/system/runtime.slice",
  group: "Linux",
  leaves: [expectFile("/etc/systemd/system/runtime.slice")],
  plan: () => [file("/etc/systemd/system/runtime.slice", RUNTIME_SLICE)],
};
