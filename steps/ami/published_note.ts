/** The note a download step adds when its checksum is upstream's published one rather than a pin. */
import { note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import type { ArtifactSource } from "./context.ts";

/** A note when the checksum is upstream's published one rather than a pin (what install-worker.sh trusts). */
export function publishedNote(src: ArtifactSource): Change[] {
  return src.pinnedBy === "published"
    ? [
      note(
        `${src.name}: not pinned; verified against the published checksum file (pin it in the bake config)`,
      ),
    ]
    : [];
}
