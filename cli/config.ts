/**
 * `eksnode config check|dump [CLUSTER_NAME] [--config-source URI]... [bootstrap.sh flags]`: the node
 * configuration `eksnode init` would use, read and merged exactly as init reads it (cli/init_inputs.ts
 * loadNodeConfig: user data parts or drop-in files merged in order, or bootstrap.sh flags turned into a
 * NodeConfig). `check` validates it and says what init will still look up; `dump` prints the merged
 * NodeConfig as YAML (or JSON). Nothing is written and no AWS API is called; only `imds://user-data`
 * reads instance metadata.
 *
 * Without `--config-source` (and without bootstrap.sh flags) the sources are those the boot units give
 * `eksnode init` (eks/paths/node.ts BOOT_CONFIG_SOURCES: user data, then the drop-ins of
 * /etc/eks/nodeadm.d/), so `sudo eksnode config check` on a node checks what it boots with; a drop-in
 * directory that is not there is noted and skipped. (`eksnode init` run by hand defaults to
 * `imds://user-data` alone, as `nodeadm init` does.)
 *
 * `check` runs every check init makes on the configuration alone (eks/api/resolve_node_settings.ts checkNodeConfig)
 * and lists what init would warn about: fields NodeConfig does not have (nodeadm ignores them, so init
 * goes on), and values nodeadm accepts that are probably mistakes. `--strict` fails on any of them, and its
 * error names which.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { ConfigError } from "../lib/errors.ts";
import type { ConfigWarning } from "../eks/api/config_source.ts";
import { BOOT_CONFIG_SOURCES } from "../eks/paths/node.ts";
import { BOOTSTRAP_OPTIONS, type InitFlags, initRequest } from "./init.ts";

/** The input flags `config` shares with `init`: config sources and bootstrap.sh flags (by attribute name). */
export type ConfigFlags =
  & Pick<InitFlags, "configSource" | "fips" | "prefixDelegation">
  & Record<string, unknown>;
import { jsonText } from "./output.ts";
import { examples } from "./help.ts";

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
  /** Paths of the fields NodeConfig does not have (ignored by init, as by nodeadm). */
  unknownFields: string[];
  /** Everything init would warn about (unknown fields included), one entry each. */
  warnings: ConfigWarning[];
}

/**
 * Reads and merges the configuration; throws ConfigError/UsageError as `init` would. Without
 * `--config-source` or bootstrap.sh flags the sources are `defaults` (the boot units' sources); a
 * `file://` directory among them that does not exist is left out and listed in `skipped`.
 */
export async function loadConfig(
  clusterName: string | undefined,
  opts: ConfigFlags,
  env: Record<string, string | undefined> = Deno.env.toObject(),
  defaults: readonly string[] = BOOT_CONFIG_SOURCES,
) {
  const request = initRequest(clusterName, opts, env);
  const absent: string[] = [];
  if (!request.bootstrapArgv && opts.configSource === undefined) {
    request.configSources = [];
    for (const source of defaults) {
      const path = source.startsWith("file://") ? source.slice("file://".length) : undefined;
      if (path !== undefined && !(await exists(path))) absent.push(path);
      else request.configSources.push(source);
    }
  }
  const { loadNodeConfig } = await import("./init_inputs.ts");
  const { ImdsClient } = await import("../eks/aws/imds.ts");
  // init logs what it merged; here the output itself says it.
  const { createLogger } = await import("../lib/log.ts");
  const log = createLogger({ format: "text", write: () => {} });
  const imds = new ImdsClient({ env });
  const loaded = await loadNodeConfig(request, imds, log);
  for (const path of absent) {
    loaded.skipped.push({
      origin: path,
      contentType: "directory",
      reason: "not there (the boot units read it; `eksnode ami` makes it)",
    });
  }
  return { request, loaded };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Validates a loaded configuration beyond the schema: what `init` checks before it calls anything.
 * `defaults` are the sources without `--config-source` ({@link loadConfig}).
 */
export async function checkConfig(
  clusterName: string | undefined,
  opts: ConfigFlags,
  env: Record<string, string | undefined> = Deno.env.toObject(),
  defaults: readonly string[] = BOOT_CONFIG_SOURCES,
): Promise<ConfigCheckReport> {
  const { request, loaded } = await loadConfig(clusterName, opts, env, defaults);
  const kind = request.bootstrapArgv ? "bootstrap-flags" : "nodeconfig";
  const { checkNodeConfig, missingClusterFields } = await import("../eks/api/resolve_node_settings.ts");
  let initWarnings: string[];
  try {
    initWarnings = checkNodeConfig(loaded.nodeConfig, loaded.origin, kind);
  } catch (err) {
    // An unknown field is often the cause (a misspelt required field): say so in the one error line.
    const unknown = loaded.warnings.filter((w) => w.kind === "unknown-field");
    if (!(err instanceof ConfigError) || unknown.length === 0) throw err;
    throw new ConfigError(
      `${err.message}; ${unknown.map((w) => `${w.origin}: ${w.message}`).join("; ")}`,
      err.hint,
      err,
    );
  }
  await checkAgainstNode(loaded.nodeConfig.spec?.containerd?.config, loaded.legacy.containerdConfigFile);
  const warnings: ConfigWarning[] = [
    ...loaded.warnings,
    ...initWarnings.map((message): ConfigWarning => ({ kind: "warning", origin: loaded.origin, message })),
  ];
  return {
    ok: true,
    origin: loaded.origin,
    kind,
    cluster: loaded.nodeConfig.spec!.cluster!.name!,
    parts: loaded.parts,
    skipped: loaded.skipped,
    describeClusterFor: missingClusterFields(loaded.nodeConfig),
    bootstrapSettings: { ...loaded.legacy },
    unknownFields: warnings.filter((w) => w.kind === "unknown-field").map((w) =>
      /^unknown field (\S+)/.exec(w.message)![1]
    ),
    warnings,
  };
}

/**
 * The checks init makes against the node it runs on, when `config check` runs on one (the root has
 * /etc/eks/release or nodeadm's containerd version file; a workstation's own containerd says nothing about
 * the nodes): the containerd there must read `containerd.config` (a version-3 config on containerd 1.x
 * stops init before it writes anything).
 */
async function checkAgainstNode(containerdConfig: string | undefined, replacementFile: string | undefined) {
  if (!containerdConfig || replacementFile !== undefined) return;
  const [
    { installedContainerdVersion, RELEASE_FILE },
    { Host },
    { checkContainerdConfigFits, CONTAINERD_VERSION_FILE },
  ] = await Promise.all([
    import("./init_inputs.ts"),
    import("../lib/host.ts"),
    import("../eks/containerd/version.ts"),
  ]);
  const host = await Host.open("/");
  if (!(await host.exists(RELEASE_FILE)) && !(await host.exists(CONTAINERD_VERSION_FILE))) return;
  checkContainerdConfigFits(await installedContainerdVersion(host), containerdConfig);
}

/**
 * The error of `config check --strict` when there are warnings: how many, what they are about (the
 * unknown fields, and the field or flag of every other warning) and what to do about each kind.
 * @example strictFailure(report)?.message // "config check --strict: 1 warning (about spec.cluster.certificateAuthority)"
 */
export function strictFailure(
  r: Pick<ConfigCheckReport, "warnings" | "unknownFields">,
): ConfigError | undefined {
  if (r.warnings.length === 0) return undefined;
  const others = r.warnings.filter((w) => w.kind !== "unknown-field").map((w) =>
    /^(spec\.[^\s:]+|--[a-z0-9-]+)/.exec(w.message)?.[1] ?? w.message.split(":")[0]
  );
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const named = (n: number, word: string) => `${word}${n === 1 ? "" : "s"}`;
  const what = [
    r.unknownFields.length
      ? `${named(r.unknownFields.length, "unknown field")}: ${r.unknownFields.join(", ")}`
      : "",
    others.length ? `about ${[...new Set(others)].join(", ")}` : "",
  ].filter((x) => x !== "");
  const fixes = [
    r.unknownFields.length ? "remove or correct the unknown fields (init ignores them, as nodeadm does)" : "",
    others.length ? "correct the values warned about above (init warns about them and goes on)" : "",
  ].filter((x) => x !== "");
  return new ConfigError(
    `config check --strict: ${count(r.warnings.length, "warning")} (${what.join("; ")})`,
    `${fixes.join("; ")}, or run without --strict`,
  );
}

/** The `warning:` lines of a check report (stderr in text mode). */
export function warningLines(r: Pick<ConfigCheckReport, "warnings">): string[] {
  return r.warnings.map((w) => `warning: ${w.origin}: ${w.message}`);
}

/** Adds the input flags of `init` (config sources, bootstrap.sh flags) to a config subcommand. */
function withInputs(cmd: Command) {
  const c = cmd
    .argument("[cluster-name]", "the EKS cluster name, as for bootstrap.sh (then bootstrap.sh flags apply)")
    .option(
      "--config-source <uri>",
      "NodeConfig source, repeatable, merged in order: imds://user-data or file://PATH (default: what the " +
        `boot units read, ${BOOT_CONFIG_SOURCES.join(" then ")})`,
      (value: string, prev: string[] | undefined) => [...(prev ?? []), value],
    );
  for (const { option } of BOOTSTRAP_OPTIONS) c.addOption(option);
  return c;
}

const CHECK_EXAMPLES = [
  [
    "check a NodeConfig file (no network needed when it gives endpoint and CA)",
    "eksnode config check --config-source file://nodeconfig.yaml",
  ],
  [
    "check what this node boots with (user data, then /etc/eks/nodeadm.d/), failing on any warning",
    "sudo eksnode config check --strict",
  ],
] as const;
const DUMP_EXAMPLES = [
  [
    "the merged NodeConfig of a file and a drop-in directory, as JSON",
    "eksnode config dump --config-source file://nodeconfig.yaml \\\n  --config-source file:///etc/eks/nodeconfig.d --output json",
  ],
  [
    "bootstrap.sh's arguments as the NodeConfig they mean",
    "eksnode config dump my-cluster --apiserver-endpoint https://example.com \\\n  --b64-cluster-ca Q0EK --service-ipv4-cidr 10.100.0.0/16",
  ],
] as const;

/** The `config` command with `check` and `dump`. */
export function configCommand() {
  const check = withInputs(new Command("check"))
    .addHelpText("after", examples(CHECK_EXAMPLES))
    .description(
      "validate the node configuration init would use (user data / drop-ins merged, or bootstrap.sh flags)",
    )
    .addOption(
      new Option("--output <format>", "text for people, json for machines").choices(["text", "json"] as const)
        .default("text" as const),
    )
    .option("--strict", "fail on unknown fields and on anything else init would only warn about")
    .action(async (clusterName, opts) => {
      const r = await checkConfig(
        clusterName as string | undefined,
        opts,
      );
      const failure = opts.strict === true ? strictFailure(r) : undefined;
      if (opts.output === "json") {
        console.log(jsonText(failure ? { ...r, ok: false } : r));
        if (failure) throw failure;
        return;
      }
      for (const line of warningLines(r)) console.error(line);
      if (failure) throw failure;
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
    .addHelpText("after", examples(DUMP_EXAMPLES))
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
      for (const line of warningLines(loaded)) console.error(line);
      let config = loaded.nodeConfig;
      if (loaded.origin === "bootstrap.sh flags") {
        // Every bootstrap.sh setting NodeConfig has a field for goes into the dump; the rest is named.
        const { bootstrapAsNodeConfig } = await import("./bootstrap_flags.ts");
        const translated = bootstrapAsNodeConfig(loaded);
        config = translated.nodeConfig;
        for (const line of translated.notCarried) console.error(`warning: not in the NodeConfig: ${line}`);
      }
      const { dumpConfig } = await import("./config_dump.ts");
      console.log(dumpConfig(config, opts.output as "yaml" | "json"));
    });
  return new Command("config")
    .description("check or print the node configuration (NodeConfig) eksnode init would use")
    .addHelpText("after", examples([...CHECK_EXAMPLES, ...DUMP_EXAMPLES]))
    .addCommand(check)
    .addCommand(dump);
}
