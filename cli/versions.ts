/**
 * `eksnode versions [--kubernetes-version V] [--arch A] [--config bake.toml]`: the versions, download URLs
 * and pinned SHA-256 checksums embedded from assets/versions.json (with a bake config's `[versions]`
 * overrides laid over them), as `eksnode ami` would use them (cli/versions_report.ts). With `--pin`, the
 * missing pins of the bake config are written into it from the published checksums (cli/versions_pin.ts).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { ConfigError, UsageError } from "../lib/errors.ts";
import type { BakeConfig } from "./bake_config.ts";
import { examples } from "./help.ts";
import { jsonText, outputOption, renderTable } from "./output.ts";

async function readBakeConfig(path: string): Promise<{ text: string; bake: BakeConfig }> {
  const { parseBakeConfig } = await import("./bake_config.ts");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new UsageError(`--config ${path}: cannot read it (${(err as Error).message})`);
  }
  return { text, bake: parseBakeConfig(text, path) };
}

/** The `versions` command. */
export function versionsCommand() {
  return new Command("versions")
    .description("the embedded versions, download URLs and SHA-256 checksums eksnode ami installs")
    .option("--kubernetes-version <version>", "only this Kubernetes version's node binaries (e.g. 1.32)")
    .addOption(new Option("--arch <arch>", "only this architecture").choices(["x86_64", "aarch64"] as const))
    .option("--config <file>", "lay this bake config's [versions] overrides over the embedded data")
    .option(
      "--pin",
      "write the missing SHA-256 pins of --config's bake into that file, from the checksum files " +
        "published beside the artifacts (its other settings and comments stay)",
    )
    .option("--mirror <url>", "with --pin: read the checksum files from this mirror (default: the bake's)")
    .addOption(outputOption())
    .addHelpText(
      "after",
      examples([
        [
          "every pinned artifact of Kubernetes 1.32 on x86_64",
          "eksnode versions --kubernetes-version 1.32 --arch x86_64",
        ],
        [
          "pin what bake.toml's bake downloads unpinned (then: eksnode ami --config bake.toml)",
          "eksnode versions --pin --config bake.toml",
        ],
      ]),
    )
    .action(async (opts) => {
      const [{ applyOverrides, versions: embedded }, { renderVersions, versionsReport }] = await Promise.all([
        import("../assets/versions.ts"),
        import("./versions_report.ts"),
      ]);
      if (opts.pin) {
        if (!opts.config) {
          throw new UsageError("--pin needs --config FILE: the bake config to write the pins into");
        }
        await pin(opts as PinFlags & { config: string });
        return;
      }
      if (opts.mirror !== undefined) throw new UsageError("--mirror is for --pin");
      let v = embedded;
      if (opts.config) v = applyOverrides(embedded, (await readBakeConfig(opts.config)).bake.versions);
      const report = versionsReport(v, { kubernetesVersion: opts.kubernetesVersion, arch: opts.arch });
      console.log(opts.output === "json" ? jsonText(report) : renderVersions(report));
    });
}

interface PinFlags {
  config: string;
  kubernetesVersion?: string;
  arch?: "x86_64" | "aarch64";
  mirror?: string;
  output: "text" | "json";
}

/** `versions --pin`: the bake's unpinned artifacts pinned from their published checksum files. */
async function pin(flags: PinFlags): Promise<void> {
  const [
    { applyOverrides, kubernetesRelease, versions: embedded },
    { checkBakeValue },
    pins,
    { transportProblem },
  ] = await Promise.all([
    import("../assets/versions.ts"),
    import("./bake_config.ts"),
    import("./versions_pin.ts"),
    import("../lib/download.ts"),
  ]);
  const { text, bake } = await readBakeConfig(flags.config);
  if (flags.mirror !== undefined) checkBakeValue("mirror", flags.mirror, "--mirror");
  const v = applyOverrides(embedded, bake.versions);
  const minor =
    kubernetesRelease(flags.kubernetesVersion ?? bake.kubernetes_version ?? v.defaultKubernetesVersion, v)
      .minor;
  const arches = flags.arch ? [flags.arch] : bake.arch ? [bake.arch] : (["x86_64", "aarch64"] as const);
  const mirror = flags.mirror ?? bake.mirror;
  const download = mirror && bake.insecure_mirror ? { plainHttpOrigins: [new URL(mirror).origin] } : {};
  if (mirror) {
    const problem = transportProblem(mirror, download.plainHttpOrigins);
    if (problem) {
      throw new UsageError(`mirror ${mirror}: ${problem}`, "use an https:// mirror or one on loopback");
    }
  }
  const found = await pins.findPins(v, minor, pins.bakeArtifacts(v, minor, bake), arches, mirror, download);
  const written = new Map(found.filter((p) => p.status === "written").map((p) => [p.key, p.sha256!]));
  const { text: updated, rewritten } = pins.pinnedText(text, written);
  if (written.size) await pins.replaceFileAtomically(flags.config, updated);
  if (flags.output === "json") {
    console.log(jsonText({ config: flags.config, kubernetesVersion: minor, rewritten, pins: found }));
  } else {
    console.log(renderTable(
      ["STATUS", "ARTIFACT", "ARCH", "KEY", "SHA256"],
      found.map((p) => [p.status, p.name, p.arch, p.key, p.sha256 ? p.sha256.slice(0, 12) : "-"]),
    ));
    console.log(
      `${flags.config}: ${written.size} pin${written.size === 1 ? "" : "s"} written` +
        (rewritten ? " (the file was rewritten: comments were not kept)" : ""),
    );
  }
  const unpublished = found.filter((p) => p.status === "unpublished");
  if (unpublished.length) {
    throw new ConfigError(
      `${unpublished.length} artifact${
        unpublished.length === 1 ? " has" : "s have"
      } no published checksum to pin from: ` +
        unpublished.map((p) => `${p.key} (${p.source})`).join(", "),
      `download each from a source you trust and set its SHA-256 in ${flags.config}, e.g. curl -fsSL URL | sha256sum`,
    );
  }
}
