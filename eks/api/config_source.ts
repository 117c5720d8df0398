/**
 * Reads NodeConfig parts from a config source URI, as nodeadm's `--config-source` does
 * (awslabs/amazon-eks-ami nodeadm/internal/configprovider/factory.go, file.go, chain.go; commits
 * 8a901f62, 39d0b04f, 1bb19b69):
 *
 * - `imds://user-data`: the instance's user data (no user data, or no NodeConfig in it, gives no
 *   parts: the caller decides, e.g. a bootstrap.sh-style script);
 * - `file://PATH`: one file, or a directory whose `*.yaml`, `*.yml` and `*.json` files are read
 *   in lexical order as drop-ins (an explicitly named file must hold a NodeConfig).
 *
 * I/O is injected through {@link ConfigReaders}, so this module stays pure and testable.
 */
import { ConfigError, UsageError } from "../../lib/errors.ts";
import { DEFAULT_CONFIG_SOURCE } from "../paths/node.ts";
import { mergeNodeConfigs } from "./merge.ts";
import { describeUnknownField, type NodeConfigInput, nodeConfigWarnings } from "./nodeconfig.ts";
import { NODECONFIG_DOCS } from "./values.ts";
import { type NodeConfigPart, parseUserDataDetailed, type SkippedPart } from "./userdata.ts";

/** The reads a config source needs; the lead wires them to the host and the IMDS client. */
export interface ConfigReaders {
  /** Whole contents of a file. */
  file(path: string): Promise<Uint8Array>;
  /** Entry names of a directory; must reject when `path` is not a directory. */
  dir(path: string): Promise<string[]>;
  /** Instance user data, or undefined when the instance has none (IMDS 404). */
  imdsUserData(): Promise<Uint8Array | undefined>;
}

/** What one or more sources gave: the parts in merge order, what was skipped, and the merge. */
export interface LoadedConfig {
  sources: string[];
  parts: NodeConfigPart[];
  skipped: SkippedPart[];
  /** Merge of all parts; undefined when there are none. */
  merged?: NodeConfigInput;
  /**
   * Unknown fields (each with the part it was in) and what nodeadm accepts but is probably a mistake,
   * one line each: init logs them as warnings, `config check` lists them (and fails on them with --strict).
   */
  warnings: ConfigWarning[];
}

/** One thing `config check` lists and `init` warns about. */
export interface ConfigWarning {
  /** `unknown-field` for a field NodeConfig does not have, `warning` for the rest. */
  kind: "unknown-field" | "warning";
  /** The part it was found in, or `merged NodeConfig`. */
  origin: string;
  message: string;
}

/** Origin used in messages for instance user data. */
export const USER_DATA_ORIGIN = "user data";

const DROP_IN = /\.(ya?ml|json)$/i;

/**
 * Loads one config source URI (`imds://user-data` or `file://PATH`).
 * @example await loadConfigSource("file:///etc/eksnode/config.d", readers)
 */
export function loadConfigSource(source: string, read: ConfigReaders): Promise<LoadedConfig> {
  return loadConfigSources([source], read);
}

/**
 * Loads several sources and merges all their parts in order (nodeadm's provider chain). As in
 * nodeadm, a drop-in directory without config files gives no part (listed in `skipped`).
 */
export async function loadConfigSources(
  sources: readonly string[],
  read: ConfigReaders,
): Promise<LoadedConfig> {
  if (sources.length === 0) throw new UsageError("no config source given", `use ${DEFAULT_CONFIG_SOURCE}`);
  const out: LoadedConfig = { sources: [...sources], parts: [], skipped: [], warnings: [] };
  for (const source of sources) {
    const target = parseSource(source);
    if (target.kind === "imds") {
      const bytes = await read.imdsUserData();
      if (bytes === undefined) continue;
      const found = await parseUserDataDetailed(bytes, USER_DATA_ORIGIN);
      out.parts.push(...found.parts);
      out.skipped.push(...found.skipped);
    } else {
      await loadPath(target.path, read, out);
    }
  }
  for (const p of out.parts) {
    for (const f of p.unknownFields) {
      out.warnings.push({
        kind: "unknown-field",
        origin: p.origin,
        message: `${describeUnknownField(f)}: ignored, as nodeadm ignores it`,
      });
    }
    for (const w of p.warnings) out.warnings.push({ kind: "warning", origin: p.origin, message: w });
  }
  if (out.parts.length > 0) {
    out.merged = mergeNodeConfigs(out.parts.map((p) => p.config));
    for (const w of nodeConfigWarnings(out.merged)) {
      out.warnings.push({ kind: "warning", origin: "merged NodeConfig", message: w });
    }
  }
  return out;
}

type Target = { kind: "imds" } | { kind: "file"; path: string };

function parseSource(source: string): Target {
  if (source === "imds://user-data") return { kind: "imds" };
  if (source.startsWith("imds://")) {
    throw new UsageError(`unsupported config source ${source}`, "the only IMDS source is imds://user-data");
  }
  if (source.startsWith("file://")) {
    // nodeadm joins URL host and path, so file:///a/b and file://a/b both work.
    const path = source.slice("file://".length);
    if (path === "") {
      throw new UsageError(`config source ${source} names no path`, "write file:///path/to/config");
    }
    return { kind: "file", path };
  }
  throw new UsageError(
    `unsupported config source ${JSON.stringify(source)}`,
    "use imds://user-data or file:///path/to/file-or-directory",
  );
}

async function loadPath(
  path: string,
  read: ConfigReaders,
  out: LoadedConfig,
): Promise<void> {
  let entries: string[] | undefined;
  try {
    entries = await read.dir(path);
  } catch {
    entries = undefined;
  }
  if (entries === undefined) {
    await loadFile(path, read, out);
    return;
  }
  const names = entries.filter((n) => DROP_IN.test(n)).sort();
  if (names.length === 0) {
    // As nodeadm's chain does (chain.go tolerates ErrNoConfigInDirectory, also for a lone source): an
    // empty drop-in directory gives nothing; with no other part, the caller reports "no NodeConfig".
    out.skipped.push({ origin: path, contentType: "directory", reason: "no *.yaml, *.yml or *.json file" });
    return;
  }
  const dir = path.endsWith("/") ? path : `${path}/`;
  for (const name of names) await loadFile(dir + name, read, out);
}

async function loadFile(path: string, read: ConfigReaders, out: LoadedConfig): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await read.file(path);
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`,
      "check the path given to --config-source",
      err,
    );
  }
  const found = await parseUserDataDetailed(bytes, path);
  if (found.parts.length === 0) {
    const why = found.skipped.map((s) => s.reason).join("; ") || "empty";
    throw new ConfigError(
      `config file ${path} holds no NodeConfig (${why})`,
      `a NodeConfig starts with apiVersion: node.eks.aws/v1alpha1; see ${NODECONFIG_DOCS}`,
    );
  }
  out.parts.push(...found.parts);
  out.skipped.push(...found.skipped);
}
