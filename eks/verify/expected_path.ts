/** The directories and files `eksnode verify` expects, with their modes: declared by the steps that write them. */
import type { Al2023Variant } from "../image/accelerators.ts";

/** A directory or file eksnode writes, with its mode (undefined: any mode, e.g. a file eksnode edits). */
export interface ExpectedPath {
  path: string;
  kind: "dir" | "file";
  mode?: number;
  /** Written only for some inputs (an environment, bpffs, local disks): checked when it is there. */
  optional?: boolean;
  /** Another path written in its place for some inputs (a local Outposts cluster's bootstrap kubeconfig). */
  orInstead?: string;
}

/**
 * A directory verify expects (0755 unless told).
 * @example expectDir("/etc/eks") // { path: "/etc/eks", kind: "dir", mode: 0o755 }
 */
export const expectDir = (path: string, mode = 0o755): ExpectedPath => ({ path, kind: "dir", mode });

/** A file verify expects (0644 unless told; `undefined`: any mode). */
export const expectFile = (path: string, mode: number | undefined = 0o644): ExpectedPath => ({
  path,
  kind: "file",
  mode,
});

/** A file written only for some inputs: checked when it is there (0644 unless told). */
export const expectOptionalFile = (path: string, mode = 0o644): ExpectedPath => ({
  ...expectFile(path, mode),
  optional: true,
});

/** A directory made only for some inputs: checked when it is there (0755 unless told). */
export const expectOptionalDir = (path: string, mode = 0o755): ExpectedPath => ({
  ...expectDir(path, mode),
  optional: true,
});

/** What release.json records of a bake that decides which paths it left. */
export interface ImageFacts {
  /** `package` or `tarball` (release.json `containerdSource`; undefined: tarball, the default). */
  containerdSource?: string;
  /** The AL2023 phase's variant, when the bake ran the phase. */
  al2023?: Al2023Variant;
}

/** What a step declares it leaves: a fixed list, or one that depends on how the image was baked. */
export type Leaves = readonly ExpectedPath[] | ((image: ImageFacts) => readonly ExpectedPath[]);

/**
 * The paths a step's `leaves` declares for an image.
 * @example leavesFor((i) => i.al2023 ? [expectDir("/x")] : [], {}) // []
 */
export function leavesFor(leaves: Leaves | undefined, image: ImageFacts): readonly ExpectedPath[] {
  return typeof leaves === "function" ? leaves(image) : leaves ?? [];
}

/** A unit eksnode enables, which `eksnode verify` expects enabled. */
export interface ExpectedUnit {
  unit: string;
  /** Enabled only for some inputs: expected when this unit file is there (the bpffs mount, local disks). */
  ifFile?: string;
}
