/**
 * Version information shown by `eksnode --version` and written into /etc/eks/release. This module is
 * all `--version` loads (main.ts), so it imports only JSON and uses Web Crypto: no zod, no commander.
 */
import denoJson from "../deno.json" with { type: "json" };
import buildInfo from "../assets/build_info.json" with { type: "json" };
import embeddedVersions from "../assets/versions.json" with { type: "json" };
import { canonicalJson } from "../lib/canonical_json.ts";

/** The eksnode version from deno.json. */
export const VERSION: string = denoJson.version;

/**
 * The git commit eksnode was built from: embedded by build.ts in compiled binaries; under `deno run`
 * from a git checkout it is read from the checkout's `.git` (HEAD, then the ref it names, loose or
 * packed) without running git; "unknown" when neither is there.
 */
export async function gitCommit(): Promise<string> {
  if (buildInfo.commit !== "dev") return buildInfo.commit;
  const here = new URL(".", import.meta.url);
  if (here.protocol !== "file:") return "unknown";
  try {
    const sha = await readGitHead(here.pathname);
    return sha ? `${sha.slice(0, 12)}-dev` : "unknown";
  } catch {
    return "unknown";
  }
}

/** Reads a file, or undefined when it is missing. */
async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return undefined;
    throw err;
  }
}

/**
 * The commit HEAD points at in the git checkout holding `dir` (a worktree's `.git` file is followed to
 * its git dir, and its `commondir` to the shared refs), as `git rev-parse HEAD` prints it.
 */
export async function readGitHead(dir: string): Promise<string | undefined> {
  let gitDir: string | undefined;
  for (let d = dir.replace(/\/+$/, "");; d = d.slice(0, d.lastIndexOf("/"))) {
    const dotGit = `${d || ""}/.git`;
    const st = await Deno.stat(dotGit).catch(() => undefined);
    if (st?.isDirectory) gitDir = dotGit;
    else if (st?.isFile) {
      const m = /^gitdir: (.+)$/m.exec((await readOptional(dotGit)) ?? "");
      if (m) gitDir = m[1].startsWith("/") ? m[1] : `${d}/${m[1]}`;
    }
    if (gitDir || d === "") break;
  }
  if (!gitDir) return undefined;
  const head = (await readOptional(`${gitDir}/HEAD`))?.trim();
  if (!head) return undefined;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  const common = (await readOptional(`${gitDir}/commondir`))?.trim();
  const commonDir = common ? (common.startsWith("/") ? common : `${gitDir}/${common}`) : gitDir;
  for (const base of new Set([gitDir, commonDir])) {
    const loose = (await readOptional(`${base}/${ref}`))?.trim();
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
  }
  const packed = (await readOptional(`${commonDir}/packed-refs`)) ?? "";
  for (const line of packed.split("\n")) {
    const [sha, name] = line.trim().split(" ");
    if (name === ref && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
  }
  return undefined;
}

/** Lowercase hex SHA-256 of text (Web Crypto: nothing else to load). */
async function sha256Text(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The full `eksnode --version` text. */
export async function versionText(): Promise<string> {
  return [
    `eksnode ${VERSION}`,
    `commit ${await gitCommit()}`,
    `deno ${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
    // The same digest as assets/versions.ts versionsDigest() of the embedded file (a test keeps them equal).
    `versions.json sha256 ${await sha256Text(canonicalJson(embeddedVersions))}`,
  ].join("\n");
}
