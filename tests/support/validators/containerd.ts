/**
 * containerd: `containerd --config FILE config dump` must load the file, and every key we set must
 * come back in the dump with our value. containerd decodes each plugin's section into a struct and
 * drops keys it does not know without a word, so a misspelled key only shows as a key missing from
 * the dump.
 *
 * Config versions: our configs are `version = 3` (containerd 2.x). A containerd 1.x (Debian 12 has
 * 1.6.20) reads version 2 at most and treats the 2.x plugin names (io.containerd.cri.v1.images,
 * io.containerd.cri.v1.runtime) as unknown plugins, so a version-3 file dumped by 1.x proves
 * nothing. There the file is first rewritten to its version-2 equivalent by running containerd 2's
 * own v2→v3 migration backwards (containerd/containerd plugins/cri/images/plugin.go and
 * plugins/cri/runtime/plugin.go, `configMigration`, at 00fe7a49 and 04d0bebd), and that is what
 * 1.x dumps. Keys with no version-2 equivalent, or that 1.6 predates (enable_cdi), are listed as
 * notes: not checked by this containerd. With containerd 2.x the file is dumped as it is.
 *
 * runc's `options` table is free-form for containerd's config loader (a map handed to the runc
 * shim), so the dump keeps any key there; its keys are checked against the fields of runc's Options
 * message (containerd/containerd api/types/runc/options/oci.proto @ 4a455077).
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import {
  dotted,
  findTool,
  leaves,
  lookup,
  notChecked,
  runTool,
  type Verdict,
  withScratch,
} from "./common.ts";

const TOOL = "containerd config dump";
const CRI_V2 = "io.containerd.grpc.v1.cri";
const CRI_IMAGES = "io.containerd.cri.v1.images";
const CRI_RUNTIME = "io.containerd.cri.v1.runtime";

/** Keys of the images plugin that containerd 2 moves out of the v2 CRI plugin's `containerd` table. */
const IMAGES_FROM_CONTAINERD_TABLE = [
  "snapshotter",
  "disable_snapshot_annotations",
  "discard_unpacked_layers",
];

/** CRI keys containerd 1.6 does not know (added in 1.7), checked only by a newer containerd. */
const NEWER_THAN_1_6: Record<string, string> = {
  enable_cdi: "CDI device injection, added to the CRI config in containerd 1.7",
  cdi_spec_dirs: "CDI device injection, added to the CRI config in containerd 1.7",
};

/**
 * A proxy plugin's `exports` table: containerd 1.6's dump drops it; nodeadm writes it for containerd 1.7
 * (nodeadm/internal/containerd/config.template.toml @ 81fec2e8, the SOCI snapshotter's `root`).
 */
const PROXY_EXPORTS = "a proxy plugin's exports, newer than containerd 1.6 (nodeadm writes it for 1.7)";

/** Go field names of runc's Options (oci.proto, fields 1-13; criu_path removed in 2.0). */
const RUNC_OPTIONS = [
  "NoPivotRoot",
  "NoNewKeyring",
  "ShimCgroup",
  "IoUid",
  "IoGid",
  "BinaryName",
  "Root",
  "SystemdCgroup",
  "CriuImagePath",
  "CriuWorkPath",
  "TaskApiAddress",
  "TaskApiVersion",
];

/** `containerd --version` → [major, minor]. */
export function containerdMajorMinor(text: string): [number, number] | undefined {
  const m = /\sv?(\d+)\.(\d+)\.\d+/.exec(` ${text}`);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** One key of our config and where it lives in the config containerd is asked to dump. */
interface Mapped {
  ours: string[];
  dumped: string[];
  value: unknown;
}

/**
 * The version-2 path of a version-3 key, following containerd 2's migration in reverse; undefined
 * when version 2 has no such key.
 */
export function v3PathToV2(path: string[]): string[] | undefined {
  if (path[0] !== "plugins" || path.length < 3) return path;
  const [, plugin, ...rest] = path;
  if (plugin === CRI_IMAGES) {
    if (rest[0] === "pinned_images") {
      return rest.length === 2 && rest[1] === "sandbox" ? ["plugins", CRI_V2, "sandbox_image"] : undefined;
    }
    if (rest[0] === "runtime_platform") return undefined;
    if (IMAGES_FROM_CONTAINERD_TABLE.includes(rest[0])) return ["plugins", CRI_V2, "containerd", ...rest];
    return ["plugins", CRI_V2, ...rest];
  }
  if (plugin === CRI_RUNTIME) {
    if (rest[0] === "cni" && rest[1] === "bin_dirs" && rest.length === 2) {
      return ["plugins", CRI_V2, "cni", "bin_dir"];
    }
    if (rest[0] === "containerd" && rest[1] === "runtimes" && rest[3] === "sandboxer" && rest.length === 4) {
      return ["plugins", CRI_V2, "containerd", "runtimes", rest[2], "sandbox_mode"];
    }
    return ["plugins", CRI_V2, ...rest];
  }
  return path;
}

function setPath(doc: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = doc;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== "object" || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/** The version-2 equivalent of a version-3 config, and the keys it cannot express. */
export function toVersion2(config: Record<string, unknown>): {
  doc: Record<string, unknown>;
  keys: Mapped[];
  untranslated: string[][];
} {
  const doc: Record<string, unknown> = {};
  const keys: Mapped[] = [];
  const untranslated: string[][] = [];
  for (const leaf of leaves(config)) {
    if (leaf.path.length === 1 && leaf.path[0] === "version") continue;
    const dumped = v3PathToV2(leaf.path);
    let value = leaf.value;
    if (dumped && dumped[dumped.length - 1] === "bin_dir" && leaf.path[leaf.path.length - 1] === "bin_dirs") {
      // v2 has one CNI bin dir; containerd 2 migrates it into a one-element bin_dirs.
      if (!Array.isArray(value) || value.length !== 1) {
        untranslated.push(leaf.path);
        continue;
      }
      value = value[0];
    }
    if (!dumped) {
      untranslated.push(leaf.path);
      continue;
    }
    setPath(doc, dumped, value);
    keys.push({ ours: leaf.path, dumped, value });
  }
  doc.version = 2;
  return { doc, keys, untranslated };
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** runc option keys that are not fields of runc's Options. */
export function unknownRuncOptions(config: Record<string, unknown>): string[] {
  const known = new Set(RUNC_OPTIONS.map((k) => k.toLowerCase()));
  const problems: string[] = [];
  for (const plugin of [CRI_RUNTIME, CRI_V2]) {
    const runtimes = lookup(config, ["plugins", plugin, "containerd", "runtimes"]).value;
    if (!runtimes || typeof runtimes !== "object") continue;
    for (const [name, rt] of Object.entries(runtimes as Record<string, Record<string, unknown>>)) {
      if (rt?.runtime_type !== "io.containerd.runc.v2" || typeof rt.options !== "object") continue;
      for (const key of Object.keys(rt.options as Record<string, unknown>)) {
        if (!known.has(key.toLowerCase())) {
          problems.push(
            `${
              dotted(["plugins", plugin, "containerd", "runtimes", name, "options", key])
            } is not an option of the runc shim (known: ${RUNC_OPTIONS.join(", ")})`,
          );
        }
      }
    }
  }
  return problems;
}

/** Validates one containerd config file with this machine's containerd. */
export async function validateContainerdConfig(file: string): Promise<Verdict> {
  const containerd = findTool("containerd");
  if (!containerd) return notChecked(TOOL, file, "containerd");
  const verdict: Verdict = { tool: TOOL, subject: file, problems: [], notes: [] };
  let config: Record<string, unknown>;
  try {
    config = parseToml(await Deno.readTextFile(file)) as Record<string, unknown>;
  } catch (err) {
    verdict.problems.push(`not valid TOML: ${(err as Error).message.split("\n")[0]}`);
    return verdict;
  }
  verdict.problems.push(...unknownRuncOptions(config));
  const versionText = (await runTool([containerd, "--version"])).stdout.trim();
  const ver = containerdMajorMinor(versionText) ?? [0, 0];
  const translate = config.version === 3 && ver[0] < 2;
  let keys: Mapped[];
  let text: string;
  if (translate) {
    const v2 = toVersion2(config);
    keys = v2.keys;
    text = stringifyToml(v2.doc);
    verdict.notes.push(
      `containerd here is ${versionText}, which reads config version 2: checked the version-2 equivalent`,
    );
    for (const p of v2.untranslated) {
      verdict.notes.push(`${dotted(p)} has no version-2 equivalent: not checked by this containerd`);
    }
  } else {
    keys = leaves(config).map((l) => ({ ours: l.path, dumped: l.path, value: l.value }));
    text = await Deno.readTextFile(file);
  }
  await withScratch("containerd-dump", async (dir) => {
    const input = `${dir}/config.toml`;
    await Deno.writeTextFile(input, text);
    const r = await runTool([containerd, "--config", input, "config", "dump"]);
    if (r.code !== 0) {
      const last = r.stderr.trim().split("\n").pop() || `exit ${r.code}`;
      verdict.problems.push(`containerd does not load it: ${last.replaceAll(input, "config.toml")}`);
      return;
    }
    let dump: unknown;
    try {
      dump = parseToml(r.stdout);
    } catch (err) {
      verdict.problems.push(`the dump is not TOML: ${(err as Error).message.split("\n")[0]}`);
      return;
    }
    for (const k of keys) {
      const got = lookup(dump, k.dumped);
      const name = dotted(k.ours);
      const newer = NEWER_THAN_1_6[k.ours[k.ours.length - 1]] ??
        (k.ours[0] === "proxy_plugins" && k.ours[2] === "exports" ? PROXY_EXPORTS : undefined);
      if (!got.found) {
        if (newer && ver[0] === 1 && ver[1] < 7) {
          verdict.notes.push(`${name}: ${newer}; containerd ${ver.join(".")} drops it, not checked`);
        } else {
          verdict.problems.push(`${name} is not in containerd's dump: containerd does not know this key`);
        }
        continue;
      }
      // `imports` comes back as the files actually read; `version` as the dumped version.
      if (k.dumped.length === 1 && (k.dumped[0] === "imports" || k.dumped[0] === "version")) continue;
      // An empty table only has to be there; containerd fills in its defaults.
      if (typeof k.value === "object" && k.value !== null && !Array.isArray(k.value)) continue;
      if (!sameValue(got.value, k.value)) {
        verdict.problems.push(
          `${name} = ${JSON.stringify(k.value)} in the file, ${
            JSON.stringify(got.value)
          } in containerd's dump`,
        );
      }
    }
  });
  return verdict;
}
