/**
 * AL2023 phase: the SOCI snapshotter (`soci`, `soci-snapshotter-grpc`) from its release
 * tarball, checksum-verified against the pin of the versions data (artifacts.sociSnapshotter) and the
 * release's own .sha256sum. AL2023 installs the soci-snapshotter package instead
 * (templates/al2023/provisioners/install-worker.sh @ 81fec2e8, "SOCI Snapshotter"); the pinned tarball
 * makes the same binaries available on every distribution.
 */
import { extract } from "../../lib/changes.ts";
import { SOCI_BIN_DIR, SOCI_BINARIES } from "../../eks/image/al2023.ts";
import type { AmiStepDef } from "./context.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install the SOCI snapshotter (checksum-verified)",
  group: "AL2023",
  plan: async (ctx) => [
    extract(await ctx.artifact("sociSnapshotter"), SOCI_BIN_DIR, {
      select: (name) => SOCI_BINARIES.includes(name),
      mode: 0o755,
    }),
  ],
};
