/** Containerd.service.d, with the drop-in that puts containerd into runtime.slice. */
import runtimeSliceDropin from "../../assets/templates/containerd-runtime-slice.conf" with { type: "text" };
import { dir, file } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The drop-in's content. */
export const CONTAINERD_SLICE_DROPIN: string = runtimeSliceDropin;

/** The step. */
export const step: AmiStepDef = {
  title: "Create /etc/systemd/system/containerd.service.d",
  group: "Containerd",
  leaves: [
    expectDir("/etc/systemd/system/containerd.service.d"),
    expectFile("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf"),
  ],
  plan: () => [
    dir("/etc/systemd/system/containerd.service.d"),
    file("/etc/systemd/system/containerd.service.d/00-runtime-slice.conf", CONTAINERD_SLICE_DROPIN),
  ],
};
