/**
 * `eksnode config check|dump [CLUSTER_NAME] [--config-source URI]... [bootstrap.sh flags]`: the node
 * configuration `eksnode init` would use, read and merged exactly as init reads it (cli/init_inputs.ts
 * loadNodeConfig: user data parts or drop-in files merged in order, or bootstrap.sh flags turned into a
 * NodeConfig). `check` validates it and says what init will still look up; `dump` prints the merged
 * NodeConfig as YAML (or JSON). Nothing is written and no AWS API is called; only `imds://user-data`
 * reads instance metadata.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { ConfigError } from "../lib/errors.ts";
import { DEFAULT_CONFIG_SOURCE } from "../eks/node_paths.ts";
import { BOOTSTRAP_OPTIONS, type InitFlags, initRequest } from "./init.ts";

/** The input flags `config` shares with `init`: config sources and bootstrap.sh flags (by attribute name). */
export type ConfigFlags =
  & Pick<InitFlags, "configSource" | "fips" | "prefixDelegation">
  & Record<string, unknown>;
import { jsonText } from "./output.ts";

/** What `config check` found (the JSON output). */
export interface ConfigCheckReport {
  ok: true;
  origin: string;
  kind: "nodeconfig" | "bootstrap-flags";
  cluster: string;
  /** Where each merged part came from. */
  parts: string[];
  /** Non-NodeConfig user data parts, ignored. */
  skipped: { origin: string; contentType: string; reason: string }[];
  /** Cluster fields init will read with EKS DescribeCluster. */
  describeClusterFor: string[];
  /** bootstrap.sh settings that are not NodeConfig fields. */
  bootstrapSettings: Record<string, unknown>;
}

/** Reads and merges the configuration; throws ConfigError/UsageError as `init` would. */
export async function loadConfig(
  clusterName: string | undefined,
  opts: ConfigFlags,
  env: Record<string, string | undefined> = Deno.env.toObject(),
) {
  const request = initRequest(clusterName, opts, env);
  const { loadNodeConfig } = await import("./init_inputs.ts");
  const { ImdsClient } = await import("../eks/imds.ts");
  // init logs what it merged; here the output itself says it.
  const { createLogger } = await import("../lib/log.ts");
  const log = createLogger({ format: "text", write: () => {} });
  const imds = new ImdsClient({ env });
  return { request, loaded: await loadNodeConfig(request, imds, log) };
}

/** Validates a loaded configuration beyond the schema: what `init` needs before it calls anything. */
export async function checkConfig(
  clusterName: string | undefined,
  opts: ConfigFlags,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<ConfigCheckReport> {
  const { request, loaded } = await loadConfig(clusterName, opts, env);
  const cluster = loaded.nodeConfig.spec?.cluster ?? {};
  if (!cluster.name) {
    throw new ConfigError(`no cluster name in ${loaded.origin}`, "set spec.cluster.name in the NodeConfig");
  }
  if (cluster.certificateAuthority) {
    const { certificateAuthorityProblem } = await import("../eks/nodeconfig_values.ts");
    const problem = certificateAuthorityProblem(cluster.certificateAuthority);
    if (problem) throw new ConfigError(`spec.cluster.certificateAuthority in ${loaded.origin}: ${problem}`);
  }
  if (cluster.enableOutpost === true && !cluster.id) {
    throw new ConfigError(
      `spec.cluster.id is missing in ${loaded.origin}`,
      "a local Outposts cluster (enableOutpost: true) needs its cluster id",
    );
  }
  const { missingClusterFields } = await import("../eks/node_settings.ts");
  return {
    ok: true,
    origin: loaded.origin,
    kind: request.bootstrapArgv ? "bootstrap-flags" : "nodeconfig",
    cluster: cluster.name,
    parts: loaded.parts,
    skipped: loaded.skipped,
    describeClusterFor: missingClusterFields(loaded.nodeConfig),
    bootstrapSettings: { ...loaded.legacy },
  };
}

/** Adds the input flags of `init` (config sources, bootstrap.sh flags) to a config subcommand. */
function withInputs(cmd: Command) {
  const c = cmd
    .argument("[cluster-name]", "the EKS cluster name, as for bootstrap.sh (then bootstrap.sh flags apply)")
    .option(
      "--config-source <uri>",
      `NodeConfig source, repeatable, merged in order: imds://user-data or file://PATH (default ${DEFAULT_CONFIG_SOURCE})`,
      (value: string, prev: string[] | undefined) => [...(prev ?? []), value],
    );
  for (const { option } of BOOTSTRAP_OPTIONS) c.addOption(option);
  return c;
}

/** The `config` command with `check` and `dump`. */
export function configCommand() {
  const check = withInputs(new Command("check"))
    .description(
      "validate the node configuration init would use (user data / drop-ins merged, or bootstrap.sh flags)",
    )
    .addOption(
      new Option("--output <format>", "text for people, json for machines").choices(["text", "json"] as const)
        .default("text" as const),
    )
    .action(async (clusterName, opts) => {
      const r = await checkConfig(
        clusterName as string | undefined,
        opts,
      );
      if (opts.output === "json") {
        console.log(jsonText(r));
        return;
      }
      const lookup = r.describeClusterFor.length
        ? `; ${r.describeClusterFor.join(" and ")} not set: init reads them with EKS DescribeCluster`
        : "; endpoint and CA given: no DescribeCluster";
      console.log(
        `ok: NodeConfig from ${r.origin}: ${r.parts.length} part${r.parts.length === 1 ? "" : "s"} merged, ` +
          `cluster ${r.cluster}${lookup}` +
          (r.skipped.length ? `; ${r.skipped.length} non-NodeConfig part(s) ignored` : ""),
      );
    });
  const dump = withInputs(new Command("dump"))
    .description("print the merged NodeConfig init would use, as YAML or JSON")
    .addOption(
      new Option("--output <format>", "yaml or json").choices(["yaml", "json"] as const).default(
        "yaml" as const,
      ),
    )
    .action(async (clusterName, opts) => {
      const { loaded } = await loadConfig(
        clusterName as string | undefined,
        opts,
      );
      const { dumpConfig } = await import("./config_dump.ts");
      console.log(dumpConfig(loaded.nodeConfig, opts.output as "yaml" | "json"));
    });
  return new Command("config")
    .description("check or print the node configuration (NodeConfig) eksnode init would use")
    .addCommand(check)
    .addCommand(dump);
}
