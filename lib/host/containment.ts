/**
 * Containment under `--root`: every path a caller gives is an absolute path inside the root, mapped onto
 * the real file system; `..` above the root and symlinks leading outside it are refused.
 */
import { dirname, posix } from "node:path";
import { ContainmentError } from "../errors.ts";

/** Normalizes an in-root path, refusing relative paths and `..` that climbs above the root. */
export function normalizeInRoot(path: string): string {
  if (!path.startsWith("/")) {
    throw new ContainmentError(
      `path ${JSON.stringify(path)} is not absolute`,
      "paths inside --root start with /",
    );
  }
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) {
        throw new ContainmentError(`path ${path} leads outside the root through ".."`);
      }
      out.pop();
    } else {
      out.push(part);
    }
  }
  return "/" + out.join("/");
}

/** Maps an in-root path onto the real file system without following symlinks (lexical only). */
export function realPath(root: string, path: string): string {
  const p = normalizeInRoot(path);
  return p === "/" ? root : (root === "/" ? p : root + p);
}

/** Maps a real path back to its in-root form, or undefined when it lies outside the root. */
export function inRoot(root: string, realPath: string): string | undefined {
  if (root === "/") return realPath;
  if (realPath === root) return "/";
  return realPath.startsWith(root + "/") ? realPath.slice(root.length) : undefined;
}

/**
 * Resolves the deepest existing ancestor of the in-root `path` (the path itself when `includeSelf`) and
 * throws when a symlink on the way leads outside the root; tells also whether the path itself exists
 * (followed through symlinks) when `includeSelf`.
 */
export function resolveInRoot(
  root: string,
  path: string,
  includeSelf: boolean,
): { real: string; exists: boolean } {
  const real = realPath(root, path);
  let probe = includeSelf || real === root ? real : dirname(real);
  for (;;) {
    try {
      const resolved = Deno.realPathSync(probe);
      if (inRoot(root, resolved) === undefined) {
        throw new ContainmentError(
          `${normalizeInRoot(path)} leads outside the root ${root} (through a symlink at ${
            inRoot(root, probe) ?? probe
          } -> ${resolved})`,
          "remove the symlink or choose another --root",
        );
      }
      return { real, exists: includeSelf && probe === real };
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      // A dangling symlink is NotFound for realPath; check it does not point outside either.
      try {
        const target = Deno.readLinkSync(probe);
        const abs = posix.resolve(dirname(probe), target);
        if (inRoot(root, abs) === undefined) {
          throw new ContainmentError(
            `${normalizeInRoot(path)} leads outside the root ${root} (dangling symlink ${
              inRoot(root, probe) ?? probe
            } -> ${target})`,
            "remove the symlink or choose another --root",
          );
        }
      } catch (e) {
        if (e instanceof ContainmentError) throw e;
      }
      if (probe === root || probe === "/") return { real, exists: false };
      probe = dirname(probe);
    }
  }
}
