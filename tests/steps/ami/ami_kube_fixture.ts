/** A bake of steps 21–37 against the loopback mirror: temp root, bake TOML from the mirror, amiContext. */
import { tempDir } from "../../../fakes/temp.ts";
import { amiContext } from "../../../cli/ami.ts";
import { memoryLogger } from "../../../lib/log.ts";
import { runSteps, type RunSummary } from "../../../lib/runner.ts";
import type { AmiContext } from "../../../steps/ami/context.ts";
import { AMI_STEPS } from "../../../steps/ami/index.ts";
import { type MirrorOptions, startMirror } from "../../../fakes/mirror.ts";

/** Steps 21 to 37. */
export const KUBE_STEPS: number[] = Array.from({ length: 17 }, (_, i) => 21 + i);

/** Options for {@link kubeBake}. */
export interface KubeBakeOptions extends MirrorOptions {
  /** Rewrites the mirror's bake TOML before it is written (drop a pin, add keep_swap, ...). */
  editToml?: (toml: string) => string;
  /** Environment of the run (default: PATH only, so no SOURCE_DATE_EPOCH). */
  env?: Record<string, string>;
}

/** A mirror, a temp dir with bake.toml and root/, and helpers to run steps in it. */
export async function kubeBake(opts: KubeBakeOptions = {}) {
  const mirror = await startMirror(opts);
  const dir = await tempDir({ prefix: "eksnode-kube-" });
  const config = `${dir}/bake.toml`;
  await Deno.writeTextFile(config, opts.editToml ? opts.editToml(mirror.bakeToml) : mirror.bakeToml);
  const root = `${dir}/root`;
  await Deno.mkdir(root);
  const env = opts.env ?? { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  const context = async (dryRun = false): Promise<AmiContext & { log: ReturnType<typeof memoryLogger> }> => {
    const ctx = await amiContext(
      { root, output: "text", jobs: "4", config, packageManager: "none", dryRun },
      env,
    );
    return Object.assign(ctx, { log: memoryLogger() });
  };
  const run = async (only: number[] = KUBE_STEPS, dryRun = false): Promise<RunSummary> => {
    const ctx = await context(dryRun);
    return await runSteps(AMI_STEPS, ctx, { process: "ami", dryRun, only });
  };
  return {
    mirror,
    dir,
    root,
    config,
    context,
    run,
    /** Real path of an in-root path. */
    at: (p: string) => `${root}${p}`,
    async close() {
      await mirror.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
