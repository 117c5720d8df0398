/** Version information shown by `eksnode --version` and written into /etc/eks/release. */
import denoJson from "../deno.json" with { type: "json" };
import buildInfo from "../assets/build_info.json" with { type: "json" };

/** The eksnode version from deno.json. */
export const VERSION: string = denoJson.version;

/**
 * The git commit eksnode was built from: embedded by build.ts in compiled binaries; under `deno run`
 * from a git checkout it is read with `git rev-parse`.
 */
export async function gitCommit(): Promise<string> {
  if (buildInfo.commit !== "dev") return buildInfo.commit;
  const here = new URL(".", import.meta.url);
  if (here.protocol !== "file:") return "unknown";
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", here.pathname, "rev-parse", "--short=12", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() + "-dev" : "unknown";
  } catch {
    return "unknown";
  }
}
