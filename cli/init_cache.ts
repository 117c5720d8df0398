/**
 * `eksnode init --config-cache PATH`: the resolved node settings of the config phase, kept (under the
 * root, mode 0600) for the run phase, as nodeadm keeps its enriched NodeConfig in
 * /run/eks/nodeadm/config.json (awslabs/amazon-eks-ami nodeadm/internal/cli/config.go, ResolveConfig,
 * commit 81fec2e8):
 *
 * - the sources still give the same configuration (the merged NodeConfig `spec`, the bootstrap.sh
 *   flags, `--fips`, `--prefix-delegation`): the cached settings are used, and instance metadata and the
 *   AWS APIs are not asked again;
 * - they give another one (a cloud-init script wrote a drop-in into /etc/eks/nodeadm.d/ between the
 *   phases): everything is resolved again and the config phase runs again even under `--skip config`;
 * - they give none at all: the cached settings are used (nodeadm's fallback).
 *
 * The file is JSON: `apiVersion`, `kind` and `spec` as in a NodeConfig (what the sources merged to),
 * and `status` with what eksnode resolved from it (not a nodeadm status: another program's cache).
 */
import { canonicalJson } from "../lib/canonical_json.ts";
import type { Host } from "../lib/host.ts";
import type { Logger } from "../lib/log.ts";
import type { NodeSettings } from "../eks/api/node_settings.ts";
import type { BootstrapLegacy } from "./bootstrap_flags.ts";

/** What decides whether a cache still holds: the configuration as the sources gave it, and the flags that change its meaning. */
export interface CacheKey {
  /** `spec` of the merged NodeConfig (from the sources, or made from the bootstrap.sh flags). */
  spec: unknown;
  kind: "nodeconfig" | "bootstrap-flags";
  legacy: BootstrapLegacy;
  fips: boolean;
  prefixDelegation: boolean;
}

/** The cache file's content. */
export interface CachedConfig {
  apiVersion: "node.eks.aws/v1alpha1";
  kind: "NodeConfig";
  spec: unknown;
  status: {
    /** Format of this file; another one is ignored (read again from the sources). */
    eksnodeCache: 1;
    key: Omit<CacheKey, "spec">;
    /** Where the configuration came from ("imds://user-data, file:///etc/eks/nodeadm.d/"). */
    origin: string;
    settings: NodeSettings;
  };
}

/** The cache file's text for `key` resolved to `settings`. */
export function configCacheText(key: CacheKey, origin: string, settings: NodeSettings): string {
  const { spec, ...rest } = key;
  const cached: CachedConfig = {
    apiVersion: "node.eks.aws/v1alpha1",
    kind: "NodeConfig",
    spec,
    status: { eksnodeCache: 1, key: rest, origin, settings },
  };
  return JSON.stringify(cached, null, 2) + "\n";
}

/** True when `cached` was resolved from the configuration `key` describes. */
export function cacheMatches(cached: CachedConfig, key: CacheKey): boolean {
  const { spec, ...rest } = key;
  return canonicalJson(cached.spec) === canonicalJson(spec) &&
    canonicalJson(cached.status.key) === canonicalJson(rest);
}

/**
 * Reads the cache at `path` (inside the root); undefined, with a warning when a file was there, when
 * it is missing or not one (nodeadm, too, only warns: the sources are read then).
 */
export async function readConfigCache(
  host: Host,
  path: string,
  log: Logger,
): Promise<CachedConfig | undefined> {
  const text = await host.readText(path);
  if (text === undefined) return undefined;
  try {
    const data = JSON.parse(text) as CachedConfig;
    if (data?.kind === "NodeConfig" && data.status?.eksnodeCache === 1 && data.status.settings?.cluster) {
      return data;
    }
  } catch {
    // reported below
  }
  log.warn(`config cache ${path} is not one eksnode wrote: ignored, the config sources are read`);
  return undefined;
}
