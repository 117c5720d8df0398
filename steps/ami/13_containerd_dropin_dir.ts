/** Step 13: containerd.service.d, with the drop-in that puts containerd into runtime.slice. */
import runtimeSliceDropin from "../../assets/templates/containerd-runtime-slice.conf" with { type: "text" };
import { dir, file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** The drop-in's content. */
export const CONTAINERD_SLICE_DROPIN: string = runtimeSliceDropin;

/** Step 13. */
export const step: Step<AmiContext> = {
  id: "ami.13",
  number: 13,
  title: "Create /etc/systemd/system/containerd.service.d",
  group: "Containerd",
  plan: () => [
    dir("/etc/systemd/system/containerd.service.d"),
    file("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf", CONTAINERD_SLICE_DROPIN),
  ],
};
