/** Containerd.service.d, with the drop-in that puts containerd into runtime.slice. */
import runtimeSliceDropin from "../../assets/templates/containerd-runtime-slice.conf" with { type: "text" };
import { dir, file } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** The drop-in's content. */
export const CONTAINERD_SLICE_DROPIN: string = runtimeSliceDropin;

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Create /etc/systemd/system/containerd.service.d",
  group: "Containerd",
  plan: () => [
    dir("/etc/systemd/system/containerd.service.d"),
    file("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf", CONTAINERD_SLICE_DROPIN),
  ],
};
