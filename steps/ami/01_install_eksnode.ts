/** The running eksnode executable becomes /usr/bin/eksnode (the node runs `eksnode init` from it). */
import { copyFile, note } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install the eksnode executable as /usr/bin/eksnode",
  group: "Linux",
  installs: (ctx) => [{
    artifact: "eksnode",
    source: `eksnode ${ctx.eksnodeVersion}`,
    version: ctx.eksnodeVersion,
    paths: ["/usr/bin/eksnode"],
  }],
  plan(ctx) {
    if (!ctx.selfPath) {
      return [note(`/usr/bin/eksnode skipped: ${ctx.selfMissingReason ?? "no eksnode binary to install"}`)];
    }
    return [copyFile(ctx.selfPath, "/usr/bin/eksnode", { mode: 0o755 })];
  },
};
