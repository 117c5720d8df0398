/**
 * Gathers the inputs of `eksnode init` (instance metadata, NodeConfig or bootstrap.sh flags, DescribeCluster
 * through its on-disk cache, DescribeInstanceTypes, the installed Kubernetes version, the CPU count) and
 * resolves them into {@link NodeSettings}. Nothing is written here: the DescribeCluster answer is kept
 * and written to its cache by {@link GatheredInputs.commit} only once everything resolved, so a failed
 * run leaves the root as it was. The precedence is documented at the top of cli/init.ts.
 */
import { parse as parseToml } from "smol-toml";
import { AwsApiError, ConfigError, UsageError } from "../lib/errors.ts";
import type { Host } from "../lib/host.ts";
import { heldLogger, type Logger } from "../lib/log.ts";
import {
  apiServerHostName,
  chooseApiServerAddresses,
  getentLookup,
  type HostLookup,
  HOSTS_FILE,
} from "../eks/system/api_server_hosts.ts";
import { type AwsCallOptions, type AwsEnv, awsMaxAttempts, describeSdkError } from "../eks/aws/call.ts";
import { type ConfigWarning, loadConfigSources } from "../eks/api/config_source.ts";
import { describeInstanceType, describePrivateDnsName, type InstanceTypeInfo } from "../eks/aws/ec2_api.ts";
import { preloadEc2Credentials } from "../eks/aws/ec2_query.ts";
import { cachedDescribeCluster, type ClusterInfo } from "../eks/aws/eks_api.ts";
import { ImdsClient, type ImdsOptions, type InstanceMetadata } from "../eks/aws/imds.ts";
import {
  countProcessors,
  kubeletVersionOutput,
  kubernetesMinor,
  missingClusterFields,
  needsInstanceTypeLookup,
  needsPrivateDnsName,
  type NodeInputs,
  releaseKubernetesVersion,
  resolveKubernetesVersion,
  resolveNodeSettings,
} from "../eks/api/resolve_node_settings.ts";
import { nvidiaGpuAttached } from "../eks/kubelet/node_labels.ts";
import type { NodeConfigInput } from "../eks/api/nodeconfig.ts";
import { ENV_DEFAULT } from "../eks/api/values.ts";
import type { NodeSettings } from "../steps/init/context.ts";
import { NVIDIA_RUNTIME } from "../eks/containerd/runtime.ts";
import { FAST_IMAGE_PULL_GATE, memTotalBytes, SOCI_SERVICE } from "../eks/containerd/soci.ts";
import {
  checkContainerdConfigFits,
  CONTAINERD_VERSION_FILE,
  containerdVersionIn,
  releaseContainerdVersion,
} from "../eks/containerd/version.ts";
import { unitInstalled } from "../lib/systemd.ts";
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

/**
 * Knobs for tests: IMDS client options beyond the environment, the AWS API retry bounds and per-try
 * timeout (so a test need not wait minutes), the host-name lookup of Outposts nodes.
 */
export interface GatherOptions {
  imds?: Omit<ImdsOptions, "env">;
  aws?: Pick<AwsCallOptions, "retry" | "timeoutMs">;
  /** How the API server's host name is looked up (default: the system's getent). */
  lookupHost?: HostLookup;
  /** `init --config-cache`: where the cache is, and what it held (undefined: none, or not one). */
  cache?: { path: string; data?: CachedConfig };
}

/**
 * The AWS API bounds of `eksnode init` when neither `--aws-api-retry-attempts` nor AWS_MAX_ATTEMPTS
 * sets the tries: as nodeadm's init (nodeadm/cmd/nodeadm/init/init.go, commit 81fec2e8), 30 tries "to
 * accommodate delays in network readiness", about 10 minutes in all, and 30 s a try (the connect timeout
 * of the Go SDK's HTTP client nodeadm uses; a black-holed endpoint costs that much a try).
 */
export const INIT_AWS_ATTEMPTS = 30;
/** See {@link INIT_AWS_ATTEMPTS}. */
export const INIT_AWS_TOTAL_MS = 600_000;
/** See {@link INIT_AWS_ATTEMPTS}. */
export const INIT_AWS_TRY_TIMEOUT_MS = 30_000;

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
  const installed = await installedKubernetesVersion(host);
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
  // Kubernetes 1.26+ names the node with EC2 DescribeInstances: without keys in the environment, the
  // SDK's credential chain loads while the instance facts are read (a load nobody awaits is harmless).
  if (
    installed !== undefined && kubernetesMinor(installed) !== undefined &&
    needsPrivateDnsName(installed, config.nodeConfig)
  ) {
    preloadEc2Credentials(env);
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
  // instance.environment.default reaches eksnode's own AWS calls too, as nodeadm exports it into its
  // process before it calls AWS ("nodeadm environment" aspect): HTTP(S)_PROXY / NO_PROXY above all.
  const defaults = nodeConfig.spec?.instance?.environment?.[ENV_DEFAULT] ?? {};
  if (Object.keys(defaults).length > 0) {
    env = { ...env, ...defaults };
    log.info(
      `environment for AWS calls from instance.environment.default: ${
        Object.keys(defaults).sort().join(", ")
      }`,
    );
  }
  // The tries: --aws-api-retry-attempts, else AWS_MAX_ATTEMPTS (as the AWS SDKs read it), else nodeadm's 30.
  const attempts = legacy.awsApiRetryAttempts !== undefined
    ? Math.max(1, legacy.awsApiRetryAttempts)
    : awsMaxAttempts(env) ?? INIT_AWS_ATTEMPTS;
  const retry = (api: string) => ({
    attempts,
    maxMs: 20_000,
    totalMs: INIT_AWS_TOTAL_MS,
    ...opts.aws?.retry,
    onRetry: (err: unknown, attempt: number, delayMs: number) =>
      log.warn(`${api}: ${describeSdkError(err)}; retry ${attempt} in ${delayMs} ms`),
  });
  const aws = (api: string): AwsCallOptions => ({
    env,
    region: instance.region,
    retry: retry(api),
    timeoutMs: opts.aws?.timeoutMs ?? INIT_AWS_TRY_TIMEOUT_MS,
  });

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

  const kubernetesVersion = resolveKubernetesVersion(
    { installedKubernetesVersion: installed, described },
    name,
  );
  // The two EC2 calls, when needed, run side by side; what each says is logged in this order after both.
  const typeLog = heldLogger(log);
  const nameLog = heldLogger(log);
  let instanceType: InstanceTypeInfo | undefined, privateDnsName: string | undefined;
  try {
    [instanceType, privateDnsName] = await settle(
      lookUpInstanceType(
        instance.instanceType,
        nodeConfig,
        origin,
        aws("DescribeInstanceTypes"),
        typeLog.logger,
      ),
      needsPrivateDnsName(kubernetesVersion, nodeConfig)
        ? lookUpPrivateDnsName(
          instance.instanceId,
          instance.hostname,
          aws("DescribeInstances"),
          nameLog.logger,
        )
        : Promise.resolve(undefined),
    );
  } finally {
    typeLog.release();
    nameLog.release();
  }

  const inputs: NodeInputs = {
    nodeConfig,
    origin,
    kind: request.bootstrapArgv ? "bootstrap-flags" : "nodeconfig",
    legacy,
    instance,
    described,
    installedKubernetesVersion: installed,
    instanceType,
    privateDnsName,
    nvidiaGpu: await nvidiaGpuAttached(host),
    cpuCount: countProcessors((await host.readText("/proc/cpuinfo")) ?? "") ?? navigator.hardwareConcurrency,
    fips: request.fips,
    prefixDelegation: request.prefixDelegation,
  };
  if (legacy.containerdConfigFile !== undefined) {
    inputs.containerdConfigReplacement = await readContainerdConfig(legacy.containerdConfigFile);
  }
  const containerd = await installedContainerdVersion(host);
  if (containerd) {
    inputs.containerdVersion = containerd.version;
    log.info(`containerd ${containerd.version} (from ${containerd.source})`);
  }
  // Step 2 renders containerd.config in the schema of this containerd: one it cannot read stops init here,
  // before step 1 writes anything (a --containerd-config-file replaces the generated config instead).
  if (inputs.containerdConfigReplacement === undefined) {
    checkContainerdConfigFits(containerd, nodeConfig.spec?.containerd?.config);
  }
  if (await host.exists(NVIDIA_RUNTIME.binaryName)) inputs.nvidiaRuntimeInstalled = true;
  if (nodeConfig.spec?.featureGates?.[FAST_IMAGE_PULL_GATE] === true) {
    inputs.memoryBytes = memTotalBytes((await host.readText("/proc/meminfo")) ?? "");
    inputs.sociInstalled = await unitInstalled(host, SOCI_SERVICE);
  }
  const node = resolveNodeSettings(inputs);
  for (const w of node.warnings ?? []) log.warn(w);
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

/**
 * DescribeInstanceTypes for a type the ENI table lacks (undefined when not needed). When EC2 cannot
 * answer either (an unknown type, or the API failed after its retries) max pods falls back to kubelet's
 * 110, with a warning, as nodeadm's `withDefaultReservedResources` does.
 */
async function lookUpInstanceType(
  type: string,
  config: NodeConfigInput,
  origin: string,
  opts: AwsCallOptions,
  log: Logger,
): Promise<InstanceTypeInfo | undefined> {
  if (!needsInstanceTypeLookup(type, config, origin)) return undefined;
  log.info(`instance type ${type} is not in the ENI table: asking EC2 DescribeInstanceTypes`);
  try {
    return await describeInstanceType(type, opts);
  } catch (err) {
    if (!(err instanceof AwsApiError)) throw err;
    log.warn(`${err.message}: max pods falls back to kubelet's default of 110`);
    return undefined;
  }
}

/** EC2's PrivateDnsName of the instance, the node name; says when it differs from IMDS `hostname`. */
async function lookUpPrivateDnsName(
  instanceId: string,
  imdsHostname: string,
  opts: AwsCallOptions,
  log: Logger,
): Promise<string> {
  const start = performance.now();
  const name = await describePrivateDnsName(instanceId, opts);
  const ms = Math.round(performance.now() - start);
  log.info(
    `node name ${name}: EC2 PrivateDnsName, read with DescribeInstances in ${ms} ms` +
      (name === imdsHostname ? "" : ` (IMDS hostname ${imdsHostname} differs: a custom DHCP domain)`),
  );
  return name;
}

/** Like Promise.all for two, but waits for both so no API retry loop outlives the call. */
async function settle<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === "rejected") throw ra.reason;
  if (rb.status === "rejected") throw rb.reason;
  return [ra.value, rb.value];
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
  /** Unknown fields and other warnings about the NodeConfig (logged by {@link loadNodeConfig}). */
  warnings: ConfigWarning[];
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
    ? Promise.resolve(fromBootstrapArgs(request.bootstrapArgv, log))
    : fromConfigSources(request.configSources, imds, log);
}

function fromBootstrapArgs(argv: string[], log: Logger): LoadedInputs {
  const parsed = parseBootstrapArgs(argv);
  const origin = "bootstrap.sh flags";
  const warnings = parsed.warnings.map((message): ConfigWarning => ({ kind: "warning", origin, message }));
  for (const w of warnings) log.warn(`${w.origin}: ${w.message}`);
  return {
    nodeConfig: parsed.nodeConfig,
    origin,
    legacy: parsed.legacy,
    parts: [origin],
    skipped: [],
    warnings,
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
  for (const w of loaded.warnings) log.warn(`${w.origin}: ${w.message}`);
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
    warnings: loaded.warnings,
  };
}

/**
 * Local Outposts clusters: which addresses of the API server's host name step 5 pins in /etc/hosts, read
 * from the system resolver now (before anything is written) and set on `node` (eks/system/api_server_hosts.ts).
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

/**
 * The file nodeadm reads the kubelet version from before asking the binary (nodeadm/internal/kubelet/
 * version.go, commit 81fec2e8): `kubelet --version` output, kept by nodeadm's AMI builds.
 */
export const KUBELET_VERSION_FILE = "/etc/eks/kubelet-version.txt";

/**
 * KUBERNETES_VERSION from /etc/eks/release, else nodeadm's /etc/eks/kubelet-version.txt, else
 * `kubelet --version` on the running system.
 */
async function installedKubernetesVersion(host: Host): Promise<string | undefined> {
  const release = await host.readText(RELEASE_FILE);
  const fromRelease = release === undefined ? undefined : releaseKubernetesVersion(release);
  if (fromRelease) return fromRelease;
  const versionFile = await host.readText(KUBELET_VERSION_FILE);
  const fromFile = versionFile === undefined ? undefined : kubeletVersionOutput(versionFile);
  if (fromFile) return fromFile;
  // Another root's kubelet may not run here (architecture, libraries): only ask the live system's.
  if (!host.isSystemRoot || !(await host.exists("/usr/bin/kubelet"))) return undefined;
  const out = await host.exec(["/usr/bin/kubelet", "--version"], { timeoutMs: 10_000, allowFailure: true })
    .catch(() => undefined);
  return out && out.code === 0 ? kubeletVersionOutput(out.stdout) : undefined;
}

/**
 * The containerd version on the root and where it was read: nodeadm's /etc/eks/containerd-version.txt,
 * else `containerd --version` (only on the running system: another root's binary may not run here),
 * else CONTAINERD_VERSION in /etc/eks/release (what `eksnode ami` installed).
 */
export async function installedContainerdVersion(
  host: Host,
): Promise<{ version: string; source: string } | undefined> {
  const file = await host.readText(CONTAINERD_VERSION_FILE);
  const fromFile = file === undefined ? undefined : containerdVersionIn(file);
  if (fromFile) return { version: fromFile, source: CONTAINERD_VERSION_FILE };
  if (host.isSystemRoot) {
    const bin = await host.which("containerd");
    const out = bin
      ? await host.exec([bin, "--version"], { timeoutMs: 10_000, allowFailure: true }).catch(() => undefined)
      : undefined;
    const fromBinary = out && out.code === 0 ? containerdVersionIn(out.stdout) : undefined;
    if (fromBinary) return { version: fromBinary, source: `${bin} --version` };
  }
  const release = await host.readText(RELEASE_FILE);
  const version = release === undefined ? undefined : releaseContainerdVersion(release);
  return version ? { version, source: `CONTAINERD_VERSION in ${RELEASE_FILE}` } : undefined;
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
