/**
 * Gathers the inputs of `eksnode init` (instance metadata, NodeConfig or bootstrap.sh flags, DescribeCluster
 * through its on-disk cache, DescribeInstanceTypes, the installed Kubernetes version, the CPU count) and
 * resolves them into {@link NodeSettings}. Nothing is written here: the DescribeCluster answer is kept
 * and written to its cache by {@link GatheredInputs.commit} only once everything resolved, so a failed
 * run leaves the root as it was. The precedence is documented at the top of cli/init.ts.
 */
import { parse as parseToml } from "smol-toml";
import { ConfigError, UsageError } from "../lib/errors.ts";
import type { Host } from "../lib/host.ts";
import type { Logger } from "../lib/log.ts";
import {
  apiServerHostName,
  chooseApiServerAddresses,
  getentLookup,
  type HostLookup,
  HOSTS_FILE,
} from "../eks/api_server_hosts.ts";
import { type AwsEnv, describeSdkError } from "../eks/aws_call.ts";
import { loadConfigSources } from "../eks/config_source.ts";
import { describeInstanceType, type InstanceTypeInfo } from "../eks/ec2_api.ts";
import { cachedDescribeCluster, type ClusterInfo } from "../eks/eks_api.ts";
import { ImdsClient, type ImdsOptions, type InstanceMetadata } from "../eks/imds.ts";
import {
  countProcessors,
  kubeletVersionOutput,
  missingClusterFields,
  needsInstanceTypeLookup,
  type NodeInputs,
  releaseKubernetesVersion,
  resolveNodeSettings,
} from "../eks/node_settings.ts";
import type { NodeConfigInput } from "../eks/nodeconfig.ts";
import type { NodeSettings } from "../steps/init/context.ts";
import { type BootstrapLegacy, parseBootstrapArgs } from "./bootstrap_flags.ts";
import { type CachedConfig, type CacheKey, cacheMatches, configCacheText } from "./init_cache.ts";

/** No config source held a NodeConfig (user data that is only a script, an empty drop-in directory). */
export class NoNodeConfigError extends ConfigError {}

/** What the command line asked for, before anything is read. */
export interface InitRequest {
  /** bootstrap.sh-style argv (cluster name and flags); undefined in NodeConfig mode. */
  bootstrapArgv?: string[];
  /** Config source URIs in merge order (NodeConfig mode). */
  configSources: string[];
  fips: boolean;
  prefixDelegation: boolean;
}

/** The resolved settings plus the deferred write of the DescribeCluster cache. */
export interface GatheredInputs {
  node: NodeSettings;
  /** What {@link resolveNodeSettings} was given (for tests and debug output); undefined when the config cache gave `node`. */
  inputs?: NodeInputs;
  /**
   * `sources`: resolved now; `cache`: the config cache held for the sources' configuration (or they had
   * none); `stale-cache`: resolved now because the sources' configuration differs from the cache's.
   */
  from: "sources" | "cache" | "stale-cache";
  /** The NodeConfig (and flags) the settings were resolved from, as the config cache records it. */
  cacheText(): string;
  /** Writes the DescribeCluster answer to its cache when it came from the API (call when not a dry run). */
  commit(): Promise<void>;
}

/** Knobs for tests: IMDS client options beyond the environment, the host-name lookup of Outposts nodes. */
export interface GatherOptions {
  imds?: Omit<ImdsOptions, "env">;
  /** How the API server's host name is looked up (default: the system's getent). */
  lookupHost?: HostLookup;
  /** `init --config-cache`: where the cache is, and what it held (undefined: none, or not one). */
  cache?: { path: string; data?: CachedConfig };
}

/** Where the DescribeCluster answer for `cluster` is cached inside the root. */
export function clusterCachePath(cluster: string): string {
  return `/var/lib/eksnode/cluster-${cluster}.json`;
}

/** The version file `eksnode ami` writes (step 33). */
export const RELEASE_FILE = "/etc/eks/release";

/** Reads every input, calls AWS only where needed, and resolves the node's settings; writes nothing. */
export async function gatherInputs(
  host: Host,
  log: Logger,
  request: InitRequest,
  env: AwsEnv,
  opts: GatherOptions = {},
): Promise<GatheredInputs> {
  const imds = new ImdsClient({ ...opts.imds, env });
  // The configuration first: flag and config-source mistakes are reported before IMDS is waited for.
  // Once IMDS has answered with the user data, the instance facts are read while the user data is
  // parsed and validated (the first parse loads and compiles the YAML and schema code).
  let early: Promise<InstanceMetadata> | undefined;
  const userDataThenFacts = {
    userData: async () => {
      const body = await imds.userData();
      early ??= imds.instanceMetadata();
      early.catch(() => {}); // awaited below; a config error must not leave it unhandled
      return body;
    },
  };
  const cached = opts.cache?.data;
  let config: LoadedInputs;
  try {
    // With a cache, the instance facts are read only once it is known not to hold.
    config = await loadNodeConfig(request, cached ? imds : userDataThenFacts, log);
  } catch (err) {
    await early?.catch(() => {}); // no IMDS read outlives the call
    if (err instanceof NoNodeConfigError && cached) {
      log.warn(`${err.message}: the settings cached in ${opts.cache!.path} are used`);
      return fromCache(cached);
    }
    throw err;
  }
  const key = cacheKey(config, request);
  if (cached && cacheMatches(cached, key)) {
    log.info(`configuration unchanged since ${opts.cache!.path} was written: its settings are used`);
    return fromCache(cached);
  }
  if (cached) {
    log.info(`configuration changed since ${opts.cache!.path} was written: resolved again`);
  }
  const instance = await (early ?? imds.instanceMetadata());
  log.info(
    `instance ${instance.instanceId}: ${instance.instanceType} in ${instance.availabilityZone} ` +
      `(IMDSv2 at ${imds.endpoint})`,
  );
  const { nodeConfig, origin, legacy } = config;
  const name = nodeConfig.spec?.cluster?.name;
  if (!name) {
    throw new ConfigError(`no cluster name in ${origin}`, "set spec.cluster.name in the NodeConfig");
  }
  const retry = (api: string) => ({
    ...(legacy.awsApiRetryAttempts !== undefined
      ? { attempts: Math.max(1, legacy.awsApiRetryAttempts) }
      : {}),
    onRetry: (err: unknown, attempt: number, delayMs: number) =>
      log.warn(`${api}: ${describeSdkError(err)}; retry ${attempt} in ${delayMs} ms`),
  });
  const aws = (api: string) => ({ env, region: instance.region, retry: retry(api) });

  let described: NodeInputs["described"];
  let pendingCache: string | undefined;
  const missing = missingClusterFields(nodeConfig);
  if (missing.length > 0) {
    const path = clusterCachePath(name);
    const info: ClusterInfo = await cachedDescribeCluster(name, {
      read: () => host.readText(path),
      write: (text) => {
        pendingCache = text;
        return Promise.resolve();
      },
    }, aws("DescribeCluster"));
    described = { info, fromCache: pendingCache === undefined };
    log.info(
      `cluster ${name}: ${missing.join(" and ")} not in ${origin}, ` +
        (described.fromCache ? `read from the cache ${path}` : `read with EKS DescribeCluster`),
    );
  }

  let instanceType: InstanceTypeInfo | undefined;
  if (needsInstanceTypeLookup(instance.instanceType, nodeConfig, origin)) {
    log.info(
      `instance type ${instance.instanceType} is not in the ENI table: asking EC2 DescribeInstanceTypes`,
    );
    instanceType = await describeInstanceType(instance.instanceType, aws("DescribeInstanceTypes"));
  }

  const inputs: NodeInputs = {
    nodeConfig,
    origin,
    kind: request.bootstrapArgv ? "bootstrap-flags" : "nodeconfig",
    legacy,
    instance,
    described,
    installedKubernetesVersion: await installedKubernetesVersion(host),
    instanceType,
    cpuCount: countProcessors((await host.readText("/proc/cpuinfo")) ?? "") ?? navigator.hardwareConcurrency,
    fips: request.fips,
    prefixDelegation: request.prefixDelegation,
  };
  if (legacy.containerdConfigFile !== undefined) {
    inputs.containerdConfigReplacement = await readContainerdConfig(legacy.containerdConfigFile);
  }
  const node = resolveNodeSettings(inputs);
  if (node.cluster.enableOutpost) {
    const lookup = opts.lookupHost ?? getentLookup((argv, o) => host.exec(argv, o), await systemNsswitch());
    await pinApiServerAddresses(host, log, node, lookup);
  }
  return {
    node,
    inputs,
    from: cached ? "stale-cache" : "sources",
    cacheText: () => configCacheText(key, origin, node),
    async commit() {
      if (pendingCache === undefined) return;
      await host.writeFile(clusterCachePath(name), pendingCache, { mode: 0o600 });
      pendingCache = undefined;
    },
  };
}

/** What the config cache is keyed by: the configuration the sources (or flags) gave, and the flags that change its meaning. */
function cacheKey(config: LoadedInputs, request: InitRequest): CacheKey {
  return {
    spec: config.nodeConfig.spec ?? {},
    kind: request.bootstrapArgv ? "bootstrap-flags" : "nodeconfig",
    legacy: config.legacy,
    fips: request.fips,
    prefixDelegation: request.prefixDelegation,
  };
}

/** The inputs as the config cache holds them: nothing to commit, nothing asked of IMDS or AWS. */
function fromCache(cached: CachedConfig): GatheredInputs {
  const text = JSON.stringify(cached, null, 2) + "\n";
  return {
    node: cached.status.settings,
    from: "cache",
    cacheText: () => text,
    commit: () => Promise.resolve(),
  };
}

/** The node configuration from bootstrap.sh flags or NodeConfig sources, merged, with where it came from. */
export interface LoadedInputs {
  nodeConfig: NodeConfigInput;
  origin: string;
  legacy: BootstrapLegacy;
  /** Where each merged NodeConfig part came from, in merge order. */
  parts: string[];
  /** User data parts that were not NodeConfig (shell scripts, cloud-config), with why. */
  skipped: { origin: string; contentType: string; reason: string }[];
}

/**
 * Reads the node configuration the way `eksnode init` does (precedence 1 in cli/init.ts): bootstrap.sh
 * flags when given, else the config sources merged in order. Used by `init` and by `config check|dump`.
 */
export function loadNodeConfig(
  request: Pick<InitRequest, "bootstrapArgv" | "configSources">,
  imds: Pick<ImdsClient, "userData">,
  log: Logger,
): Promise<LoadedInputs> {
  return request.bootstrapArgv
    ? Promise.resolve(fromBootstrapArgs(request.bootstrapArgv))
    : fromConfigSources(request.configSources, imds, log);
}

function fromBootstrapArgs(argv: string[]): LoadedInputs {
  const parsed = parseBootstrapArgs(argv);
  return {
    nodeConfig: parsed.nodeConfig,
    origin: "bootstrap.sh flags",
    legacy: parsed.legacy,
    parts: ["bootstrap.sh flags"],
    skipped: [],
  };
}

async function fromConfigSources(
  sources: string[],
  imds: Pick<ImdsClient, "userData">,
  log: Logger,
): Promise<LoadedInputs> {
  const loaded = await loadConfigSources(sources, {
    // file:// sources name paths on the running system, not under --root (as for nodeadm).
    file: (path) => Deno.readFile(path),
    dir: async (path) => {
      const names: string[] = [];
      for await (const e of Deno.readDir(path)) names.push(e.name);
      return names;
    },
    imdsUserData: () => imds.userData(),
  });
  const origin = sources.join(", ");
  for (const s of loaded.skipped) log.debug(`skipped ${s.origin} (${s.contentType}): ${s.reason}`);
  if (!loaded.merged) {
    const skipped = loaded.skipped.map((s) => s.contentType);
    throw new NoNodeConfigError(
      `no NodeConfig in ${origin}` +
        (skipped.length ? ` (found only ${[...new Set(skipped)].join(", ")})` : ""),
      "put a NodeConfig (apiVersion: node.eks.aws/v1alpha1) in the user data, " +
        "or call eksnode init with the cluster name and bootstrap.sh flags",
    );
  }
  log.info(
    `NodeConfig from ${origin}: ${loaded.parts.length} part${loaded.parts.length === 1 ? "" : "s"} merged` +
      (loaded.parts.length > 1 ? ` (${loaded.parts.map((p) => p.origin).join("; ")})` : ""),
  );
  return {
    nodeConfig: loaded.merged,
    origin,
    legacy: {},
    parts: loaded.parts.map((p) => p.origin),
    skipped: loaded.skipped.map((p) => ({ origin: p.origin, contentType: p.contentType, reason: p.reason })),
  };
}

/**
 * Local Outposts clusters: which addresses of the API server's host name step 5 pins in /etc/hosts, read
 * from the system resolver now (before anything is written) and set on `node` (eks/api_server_hosts.ts).
 */
async function pinApiServerAddresses(host: Host, log: Logger, node: NodeSettings, lookup: HostLookup) {
  const name = apiServerHostName(node.cluster.endpoint);
  if (name === undefined) {
    log.info(`API server ${node.cluster.endpoint} is an address: nothing to pin in ${HOSTS_FILE}`);
    return;
  }
  const hosts = await host.readText(HOSTS_FILE);
  const decision = await chooseApiServerAddresses(name, node.cluster.name, hosts, lookup);
  if (decision.warn) log.warn(decision.message);
  else log.info(decision.message);
  node.cluster.apiServerAddresses = decision.addresses;
}

/** The running system's /etc/nsswitch.conf (getent runs here, whatever --root is), or undefined. */
async function systemNsswitch(): Promise<string | undefined> {
  try {
    return await Deno.readTextFile("/etc/nsswitch.conf");
  } catch {
    return undefined;
  }
}

/** KUBERNETES_VERSION from /etc/eks/release, else `kubelet --version` on the running system. */
async function installedKubernetesVersion(host: Host): Promise<string | undefined> {
  const release = await host.readText(RELEASE_FILE);
  const fromRelease = release === undefined ? undefined : releaseKubernetesVersion(release);
  if (fromRelease) return fromRelease;
  // Another root's kubelet may not run here (architecture, libraries): only ask the live system's.
  if (!host.isSystemRoot || !(await host.exists("/usr/bin/kubelet"))) return undefined;
  const out = await host.exec(["/usr/bin/kubelet", "--version"], { timeoutMs: 10_000, allowFailure: true })
    .catch(() => undefined);
  return out && out.code === 0 ? kubeletVersionOutput(out.stdout) : undefined;
}

/** bootstrap.sh `--containerd-config-file`: a file on the running system, checked to be TOML. */
async function readContainerdConfig(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new UsageError(`--containerd-config-file ${path}: cannot read it (${(err as Error).message})`);
  }
  try {
    parseToml(text);
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new ConfigError(`--containerd-config-file ${path} is not valid TOML: ${first}`);
  }
  return text;
}
