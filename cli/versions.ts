/**
 * `eksnode versions [--kubernetes-version V] [--arch A] [--config bake.toml]`: the versions, download URLs
 * and pinned SHA-256 checksums embedded from assets/versions.json (with a bake config's `[versions]`
 * overrides laid over them), as `eksnode ami` would use them (cli/versions_report.ts).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import { jsonText, outputOption } from "./output.ts";

/** The `versions` command. */
export function versionsCommand() {
  return new Command("versions")
    .description("the embedded versions, download URLs and SHA-256 checksums eksnode ami installs")
    .option("--kubernetes-version <version>", "only this Kubernetes version's node binaries (e.g. 1.32)")
    .addOption(new Option("--arch <arch>", "only this architecture").choices(["x86_64", "aarch64"] as const))
    .option("--config <file>", "lay this bake config's [versions] overrides over the embedded data")
    .addOption(outputOption())
    .action(async (opts) => {
      const [{ applyOverrides, versions: embedded }, { renderVersions, versionsReport }] = await Promise.all([
        import("../assets/versions.ts"),
        import("./versions_report.ts"),
      ]);
      let v = embedded;
      if (opts.config) {
        const { parseBakeConfig } = await import("./bake_config.ts");
        let text: string;
        try {
          text = await Deno.readTextFile(opts.config);
        } catch (err) {
          throw new UsageError(`--config ${opts.config}: cannot read it (${(err as Error).message})`);
        }
        v = applyOverrides(embedded, parseBakeConfig(text, opts.config).versions);
      }
      const report = versionsReport(v, { kubernetesVersion: opts.kubernetesVersion, arch: opts.arch });
      console.log(opts.output === "json" ? jsonText(report) : renderVersions(report));
    });
}
