/**
 * Which containerd the node runs, and so which config schema it reads: containerd 1.x reads
 * `version = 2` (the CRI plugin is `io.containerd.grpc.v1.cri`), containerd 2.x writes and reads
 * `version = 3` (the CRI plugin split into `io.containerd.cri.v1.images` and `io.containerd.cri.v1.runtime`).
 *
 * Sources (awslabs/amazon-eks-ami nodeadm @ 81fec2e8):
 * - `nodeadm/internal/containerd/version.go`: the version is read from /etc/eks/containerd-version.txt
 *   when that file exists, else from `containerd --version`; the first `N.N.N` in the text is the version,
 *   and containerd 2 is a version starting with "2.".
 * - `nodeadm/internal/containerd/config.go` `getConfigTemplateVersion`: the template's schema is 3 on
 *   containerd 2 unless NodeConfig's `containerd.config` is a version-2 config (then the version-2
 *   template is rendered, merged and migrated with `containerd config migrate`); on containerd 1 it is 2,
 *   and a `containerd.config` holding version-3 properties is an error. `Version3configInNodeConfig`: a
 *   config is version 3 when its text names `io.containerd.cri.v1.images` or `io.containerd.cri.v1.runtime`.
 */
import { ConfigError } from "../../lib/errors.ts";

/** nodeadm's file with the containerd version (read before the binary is asked). */
export const CONTAINERD_VERSION_FILE = "/etc/eks/containerd-version.txt";

/** A containerd config schema: the `version` key of config.toml. */
export type ContainerdSchema = 2 | 3;

/** The containerd version where nothing on the node says: the containerd eksnode bakes (assets/versions.json) is 2.x. */
export const ASSUMED_CONTAINERD_MAJOR = 2;

/**
 * The version in a text (`containerd --version` output, containerd-version.txt, /etc/eks/release's value):
 * the first `N.N.N`, as nodeadm's regular expression reads it.
 * @example containerdVersionIn("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7") // "2.1.4"
 */
export function containerdVersionIn(text: string): string | undefined {
  return /[0-9]+\.[0-9]+.[0-9]+/.exec(text)?.[0];
}

/**
 * CONTAINERD_VERSION of an /etc/eks/release text (`eksnode ami` step 33 records the containerd it
 * installed there; quotes allowed), or undefined.
 * @example releaseContainerdVersion("CONTAINERD_VERSION='2.1.4'\n") // "2.1.4"
 */
export function releaseContainerdVersion(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?CONTAINERD_VERSION\s*=\s*(.*)$/.exec(line);
    if (m) return containerdVersionIn(m[1]);
  }
  return undefined;
}

/** The major version of a containerd version ("1.7.27" → 1); undefined for text that is not a version. */
export function containerdMajor(version: string | undefined): number | undefined {
  const m = version === undefined ? null : /^(\d+)\./.exec(version);
  return m ? Number(m[1]) : undefined;
}

/** True when a containerd config's text has version-3 properties (nodeadm's `Version3configInNodeConfig`). */
export function isVersion3Config(text: string): boolean {
  return text.includes("io.containerd.cri.v1.images") || text.includes("io.containerd.cri.v1.runtime");
}

/** How the config is made for a containerd and a NodeConfig `containerd.config`. */
export interface SchemaChoice {
  /** Schema of the template eksnode renders and merges the user's config into. */
  template: ContainerdSchema;
  /** Schema of the file written: the template's, or 3 when a version-2 result is migrated for containerd 2. */
  written: ContainerdSchema;
}

/**
 * The schema to render for containerd `major` and the user's `containerd.config`, as nodeadm chooses it.
 * Throws ConfigError for a version-3 user config on containerd 1.x, which cannot read it (`where`: where
 * the version was read, for the message).
 * @example schemaFor(2, 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n') // { template: 2, written: 3 }
 */
export function schemaFor(major: number, userConfig: string | undefined, where?: string): SchemaChoice {
  const given = userConfig !== undefined && userConfig.length > 0;
  if (major >= 2) {
    return given && !isVersion3Config(userConfig) ? { template: 2, written: 3 } : { template: 3, written: 3 };
  }
  if (given && isVersion3Config(userConfig)) {
    throw new ConfigError(
      `NodeConfig containerd.config has containerd config version-3 properties ` +
        `(io.containerd.cri.v1.images / io.containerd.cri.v1.runtime), and this node's containerd is ${major}.x` +
        `${where ? ` (${where})` : ""}, which reads version 2 only`,
      'write containerd.config in the version-2 schema (`version = 2`, [plugins."io.containerd.grpc.v1.cri"]) ' +
        "for containerd 1.x",
    );
  }
  return { template: 2, written: 2 };
}

/**
 * Checks, before anything is written, that the node's containerd can read the NodeConfig's
 * `containerd.config` ({@link schemaFor}): `eksnode init` runs it with its inputs and `config check` with
 * the same version, so a version-3 config for containerd 1.x stops both, naming where the version came from.
 * @example checkContainerdConfigFits({ version: "1.7.27", source: CONTAINERD_VERSION_FILE }, userConfig)
 */
export function checkContainerdConfigFits(
  containerd: { version: string; source: string } | undefined,
  userConfig: string | undefined,
): void {
  if (!userConfig?.trim()) return;
  const major = containerdMajor(containerd?.version) ?? ASSUMED_CONTAINERD_MAJOR;
  schemaFor(major, userConfig, containerd ? `${containerd.version}, from ${containerd.source}` : undefined);
}
