/** The directories and files `eksnode verify` expects, with their modes: declared by the steps that write them. */

/** A directory or file eksnode writes, with its mode (undefined: any mode, e.g. a file eksnode edits). */
export interface ExpectedPath {
  path: string;
  kind: "dir" | "file";
  mode?: number;
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
