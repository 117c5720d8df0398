/**
 * `eksnode init`: join this instance to its EKS cluster. The boot units of the image run it at every boot
 * in nodeadm's two phases (`--skip run` before cloud-init, `--skip config` after it, sharing a
 * `--config-cache`: eks/system/boot_units.ts); user data may run it too, or `/etc/eks/bootstrap.sh
 * CLUSTER [flags]`, a shim that execs `eksnode init "$@"`. Every input is read and resolved before any of
 * the 9 steps runs, so a bad input ends with one error and nothing written.
 *
 * Where each input comes from and which wins: docs/init.md, "Inputs and their precedence" (the one place
 * it is written; `./init_inputs.ts` gathers the inputs in that order).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import { DEFAULT_CONFIG_SOURCE } from "../eks/paths/node.ts";
import type { InitContext, InitDaemon, NodeSettings } from "../steps/init/context.ts";
import { BOOTSTRAP_FLAGS } from "./bootstrap_flags.ts";
import {
  confirmOnRunningSystem,
  type Prepared,
  prepareRun,
  type RunFlags,
  type StepExamples,
  withRunFlags,
} from "./global_flags.ts";
import type { GatheredInputs, GatherOptions, InitRequest } from "./init_inputs.ts";
import { examples, prose } from "./help.ts";

/** Flags of `eksnode init` beyond the run flags and the bootstrap.sh flags. */
export interface InitFlags extends RunFlags {
  configSource?: string[];
  configCache?: string;
  allowNoConfig?: boolean;
  daemon?: string[];
  fips?: boolean;
  prefixDelegation?: boolean;
}

/** The phase names `--skip` takes besides step numbers (nodeadm's `--skip config|run`). */
export const PHASE_NAMES = ["config", "run"] as const;
/** One of {@link PHASE_NAMES}. */
export type PhaseName = typeof PHASE_NAMES[number];

/**
 * Splits `--skip`'s value (repeatable, joined with commas) into phase names and step numbers.
 * @example splitSkip("run,3") // { phases: Set {"run"}, steps: "3" }
 */
export function splitSkip(skip: string | undefined): { phases: Set<PhaseName>; steps?: string } {
  const phases = new Set<PhaseName>();
  const steps: string[] = [];
  for (const word of (skip ?? "").split(",").map((w) => w.trim()).filter(Boolean)) {
    if ((PHASE_NAMES as readonly string[]).includes(word)) phases.add(word as PhaseName);
    else steps.push(word);
  }
  return { phases, steps: steps.length ? steps.join(",") : undefined };
}

/** `--only` and `--skip` values of init's steps, for its help and hints: `--skip` also takes the phases. */
const INIT_STEP_EXAMPLES: StepExamples = {
  only: "5,7 or 1-8",
  skip: `run,7 or --skip 1-8 (step numbers, or the phases ${PHASE_NAMES.join(" and ")})`,
};

/** The bootstrap.sh flags as commander options, with the attribute name commander stores each under (init, config). */
export const BOOTSTRAP_OPTIONS = BOOTSTRAP_FLAGS.map((f) => {
  const option = new Option(`${f.flag} <${f.value}>`, f.help).helpGroup("bootstrap.sh flags:");
  return { flag: f.flag, option, key: option.attributeName() };
});

/**
 * The bootstrap.sh argv from a parsed command line, or undefined when neither a cluster name nor a
 * bootstrap.sh flag was given (NodeConfig mode).
 * @example bootstrapArgv("my-cluster", { b64ClusterCa: "LS0t" }) // ["my-cluster", "--b64-cluster-ca=LS0t"]
 */
export function bootstrapArgv(
  clusterName: string | undefined,
  opts: Record<string, unknown>,
): string[] | undefined {
  const argv: string[] = [];
  for (const { flag, key } of BOOTSTRAP_OPTIONS) {
    const value = opts[key];
    if (typeof value === "string") argv.push(`${flag}=${value}`);
  }
  if (clusterName === undefined && argv.length === 0) return undefined;
  return clusterName === undefined ? argv : [clusterName, ...argv];
}

/** Turns parsed flags into the request for {@link gatherInputs}. */
export function initRequest(
  clusterName: string | undefined,
  opts: Pick<InitFlags, "configSource" | "fips" | "prefixDelegation"> & Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): InitRequest {
  const argv = bootstrapArgv(clusterName, opts);
  if (argv && opts.configSource) {
    throw new UsageError(
      "--config-source cannot be combined with a cluster name or bootstrap.sh flags",
      "configure the node either with bootstrap.sh flags or with a NodeConfig",
    );
  }
  return {
    bootstrapArgv: argv,
    configSources: opts.configSource ?? [DEFAULT_CONFIG_SOURCE],
    fips: opts.fips === true || env.EKSNODE_FIPS === "true",
    prefixDelegation: opts.prefixDelegation === true || env.EKSNODE_PREFIX_DELEGATION === "true",
  };
}

/** Builds the init step context: run flags → host and logger, then every input resolved (nothing written). */
export async function initContext(
  clusterName: string | undefined,
  opts: InitFlags & Record<string, unknown>,
  env: Record<string, string> = Deno.env.toObject(),
  gather: GatherOptions = {},
): Promise<{ ctx: InitContext; gathered: GatheredInputs; prepared: Prepared }> {
  const request = initRequest(clusterName, opts, env);
  // Loaded when init runs (IMDS and AWS clients, user data parsing), not when the CLI starts.
  const [{ gatherInputs }, { readConfigCache }] = await Promise.all([
    import("./init_inputs.ts"),
    import("./init_cache.ts"),
  ]);
  const prepared = await prepareRun(opts, INIT_STEP_EXAMPLES, env);
  if (opts.configCache !== undefined) {
    if (!opts.configCache.startsWith("/")) {
      throw new UsageError(`--config-cache must be an absolute path, got "${opts.configCache}"`);
    }
    gather = {
      ...gather,
      cache: {
        path: opts.configCache,
        data: await readConfigCache(prepared.host, opts.configCache, prepared.log),
      },
    };
  }
  const gathered = await gatherInputs(prepared.host, prepared.log, request, env, gather);
  const ctx: InitContext = {
    host: prepared.host,
    log: prepared.log,
    dryRun: prepared.dryRun,
    node: gathered.node,
    ...(opts.daemon ? { daemons: parseDaemons(opts.daemon) } : {}),
  };
  return { ctx, gathered, prepared };
}

/**
 * `--daemon` values (repeatable, comma-separated, as nodeadm's string slice): the daemons step 9 starts.
 * An empty value names none (nodeadm's `--daemon=""`).
 * @example parseDaemons(["containerd,kubelet"]) // ["containerd", "kubelet"]
 */
export function parseDaemons(values: readonly string[]): InitDaemon[] {
  const out: InitDaemon[] = [];
  for (const word of values.flatMap((v) => v.split(",")).map((w) => w.trim()).filter(Boolean)) {
    if (word !== "containerd" && word !== "kubelet") {
      throw new UsageError(
        `--daemon: "${word}" is not a daemon`,
        "name containerd or kubelet (or none: --daemon=)",
      );
    }
    if (!out.includes(word)) out.push(word);
  }
  return out;
}

/** The lines that show what was resolved (no secrets: no user data, no CA). */
export function describeSettings(n: NodeSettings): string[] {
  // The kubelet config holds the user's kubeReserved when NodeConfig sets it: show what is in effect.
  const effective = {
    ...n.kubeReserved,
    ...(n.kubeletConfigOverrides.kubeReserved as Record<string, string>),
  };
  const reserved = Object.entries(effective).map(([k, v]) => `${k}=${v}`).join(", ") +
    (n.kubeletConfigOverrides.kubeReserved ? " (from kubelet.config)" : "");
  return [
    `cluster ${n.cluster.name}: ${n.cluster.endpoint} (from ${n.cluster.source}), ${n.cluster.ipFamily}` +
    (n.cluster.serviceCidr ? `, service CIDR ${n.cluster.serviceCidr}` : "") +
    (n.cluster.enableOutpost ? `, local Outposts cluster ${n.cluster.id}` : ""),
    `kubernetes ${n.kubernetesVersion}; node ${n.nodeName} (${n.providerId}), node IP ${n.nodeIp}`,
    `region ${n.region} (partition ${n.partition}, ${n.dnsSuffix}); cluster DNS ${n.clusterDns.join(",")}`,
    `max pods ${n.maxPods ?? "unset (kubelet default)"} (${n.maxPodsSource}); kube-reserved ${reserved}`,
    `sandbox image ${n.sandboxImage}`,
    `containerd ${n.containerdVersion ?? "of unknown version (2.x assumed)"}, default runtime ` +
    (n.nvidiaRuntimeInstalled ? "nvidia" : "runc") +
    (n.sociSnapshotter ? ", SOCI snapshotter (FastImagePull)" : "") +
    (n.sociSnapshotterSkipped ? ` (${n.sociSnapshotterSkipped})` : ""),
  ];
}

const INIT_EXAMPLES = examples([
  [
    "what init would write on this EC2 instance (NodeConfig from user data), writing nothing",
    "sudo eksnode init --dry-run",
  ],
  [
    "bootstrap.sh's arguments instead of NodeConfig",
    "sudo eksnode init my-cluster --kubelet-extra-args '--node-labels=team=a'",
  ],
  [
    "only steps 5 and 7, from a NodeConfig file",
    "sudo eksnode init --only 5,7 --config-source file:///etc/eks/nodeconfig.yaml",
  ],
  [
    "try it offline on your own NodeConfig, from a checkout (a simulated cloud)",
    "deno task try-init -- --config my-nodeconfig.yaml",
  ],
]);

/** The `init` command. */
export function initCommand() {
  const cmd = withRunFlags(
    new Command("init")
      .description(
        "join this instance to its EKS cluster: the 9 numbered steps (see `eksnode steps init`); " +
          "reads NodeConfig from user data, or takes bootstrap.sh's arguments",
      )
      .argument("[cluster-name]", "the EKS cluster name, as for bootstrap.sh (then bootstrap.sh flags apply)")
      .option(
        "--config-source <uri>",
        `NodeConfig source, repeatable, merged in order: imds://user-data or file://PATH (default ${DEFAULT_CONFIG_SOURCE})`,
        (value: string, prev: string[] | undefined) => [...(prev ?? []), value],
      )
      .option(
        "--config-cache <path>",
        "keep the resolved settings in PATH (under --root) for the next phase, e.g. /run/eks/eksnode/config.json; " +
          "used again while the sources give the same configuration (or none)",
      )
      .option(
        "--allow-no-config",
        "exit 0 without doing anything when no source holds a NodeConfig (the boot units: user data that " +
          "runs /etc/eks/bootstrap.sh itself)",
      )
      .option(
        "--daemon <name>",
        "for testing, as nodeadm's: start only these of containerd and kubelet (repeatable; --daemon= for none)",
        (value: string, prev: string[] | undefined) => [...(prev ?? []), value],
      )
      .option(
        "--fips",
        "pull the pause image from FIPS endpoints where the region has them (or EKSNODE_FIPS=true)",
      )
      .option(
        "--prefix-delegation",
        "the VPC CNI uses prefix delegation: size max pods for /28 prefixes (or EKSNODE_PREFIX_DELEGATION=true)",
      ),
    INIT_STEP_EXAMPLES,
  );
  for (const { option } of BOOTSTRAP_OPTIONS) cmd.addOption(option);
  return cmd
    .addHelpText(
      "after",
      prose(
        "\n--skip also takes the phases config (steps 1-8: every file, daemon-reload) and run (step 9: enable and " +
          "start), as nodeadm's --skip does; the boot units run `--skip run` before cloud-init and `--skip config` after it.",
      ),
    )
    .addHelpText("after", INIT_EXAMPLES)
    .action(async (clusterName, rawOpts) => {
      // The steps load while the inputs are gathered (IMDS round trips).
      const modules = Promise.all([import("../lib/runner.ts"), import("../steps/init/index.ts")]);
      modules.catch(() => {}); // awaited below; an input error must not leave it unhandled
      const { phases, steps } = splitSkip(rawOpts.skip);
      const opts = { ...rawOpts, skip: steps } as InitFlags & Record<string, unknown>;
      let started;
      try {
        started = await initContext(clusterName, opts);
      } catch (err) {
        const { NoNodeConfigError } = await import("./init_inputs.ts");
        if (!(opts.allowNoConfig && err instanceof NoNodeConfigError)) throw err;
        const { createLogger } = await import("../lib/log.ts");
        createLogger({ format: opts.logFormat ?? opts.output, debug: opts.debug }).event(
          "init.no-config",
          { reason: err.message },
          `${err.message}: nothing to do (--allow-no-config); user data that runs /etc/eks/bootstrap.sh or ` +
            "eksnode init itself joins the node",
        );
        return;
      }
      const { ctx, gathered, prepared } = started;
      const n = ctx.node;
      ctx.log.event("init.settings", {
        cluster: n.cluster.name,
        clusterSource: n.cluster.source,
        kubernetesVersion: n.kubernetesVersion,
        instanceType: n.instance.instanceType,
        nodeName: n.nodeName,
        nodeIp: n.nodeIp,
        clusterDns: n.clusterDns,
        maxPods: n.maxPods ?? null,
        maxPodsSource: n.maxPodsSource,
        kubeReserved: n.kubeReserved,
        sandboxImage: n.sandboxImage,
      }, describeSettings(n).join("\n"));
      const [{ runSteps }, { INIT_STEPS, INIT_PHASES }] = await modules;
      // nodeadm runs the config phase again under --skip config when the configuration changed since the
      // cache was written (a drop-in added between the phases), so the files follow it.
      if (phases.has("config") && gathered.from === "stale-cache") {
        phases.delete("config");
        ctx.log.info(
          "the config phase runs although skipped: the configuration changed since the cache was written",
        );
      }
      const skipped = [...phases].flatMap((p) => INIT_PHASES[p]);
      const selection = {
        ...prepared.selection,
        skip: skipped.length || prepared.selection.skip
          ? [...skipped, ...(prepared.selection.skip ?? [])]
          : undefined,
      };
      const run = {
        process: "init",
        jobs: prepared.jobs,
        ...selection,
        // Changes of the config phase are acted on (services restarted) by the run phase that follows.
        keepPending: phases.has("run"),
      };
      await confirmOnRunningSystem(
        opts,
        "eksnode init",
        () => runSteps(INIT_STEPS, { ...ctx, dryRun: true }, { ...run, dryRun: true }),
      );
      // What was read from the cloud is kept (DescribeCluster's answer) once the run is to go ahead.
      if (!ctx.dryRun) await gathered.commit();
      await runSteps(INIT_STEPS, ctx, { ...run, dryRun: ctx.dryRun });
      const configRan = !phases.has("config");
      if (opts.configCache !== undefined && configRan && !ctx.dryRun) {
        const text = gathered.cacheText();
        if ((await ctx.host.readText(opts.configCache)) !== text) {
          await ctx.host.writeFile(opts.configCache, text, { mode: 0o600 });
          ctx.log.info(`settings cached in ${opts.configCache} for the next phase`);
        }
      }
    });
}
