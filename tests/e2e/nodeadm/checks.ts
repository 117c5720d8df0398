/**
 * The expectations of spec.ts as checks: each computes eksnode's view of the node (views.ts) and the same
 * view of nodeadm's expected file, and compares them. Each check also has a deliberately wrong variant
 * of nodeadm's side, which the runner feeds to the same comparison to prove that it can fail.
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { dotted, leaves, lookup } from "../../support/validators/common.ts";
import { parseProxyLog, type ProxyEntry } from "./cloud.ts";
import type { Expect } from "./spec.ts";
import { parseUnitText, serviceUnits, splitSystemdWords, unitEnabled } from "./systemd_read.ts";
import {
  baseRuntimeSpec,
  CONTAINERD_SERVICE,
  containerdConfig,
  hostsByName,
  isObject,
  type Json,
  kubeconfigView,
  KUBELET_SERVICE,
  kubeletConfig,
  kubeletFlagFile,
  kubeletFlags,
  localDisksAtBoot,
  mergeJson,
  mergePatch,
  parseJsonOrYaml,
  resolvedSettings,
  unitEnvironment,
  withBaseSpecMarkers,
} from "./views.ts";

/** Where a check looks: the node's root, the case's files, and what the run saw. */
export interface CheckContext {
  root: string;
  caseDir: string;
  /** The CA file nodeadm would have written for the case's certificateAuthority (decoded). */
  caPem: string;
  /** The AWS endpoint of the run (proxy logs name it). */
  awsUrl: string;
  /** The image's kubelet version ("1.29.0"): which of its flags kubelet knows and how it reads them. */
  kubeletVersion: string;
  /** What the proxy relayed during the run. */
  proxyLog?: ProxyEntry[];
}

/** One evaluated expectation: `compare(expected)` lists the differences (empty: the same meaning). */
export interface Check {
  title: string;
  expected: unknown;
  /** nodeadm's side made wrong on purpose: `compare` must find a difference with it. */
  wrong: unknown;
  compare(expected: unknown): string[];
}

const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v));

/** Differences between two JSON-like documents, leaf by leaf (arrays compared whole). */
export function jsonDiff(actual: unknown, expected: unknown, path: string[] = []): string[] {
  if (isObject(actual) && isObject(expected)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    return keys.flatMap((k) => jsonDiff(actual[k], expected[k], [...path, k]));
  }
  if (JSON.stringify(actual) === JSON.stringify(expected)) return [];
  return [`${dotted(path) || "(document)"}: eksnode ${show(actual)}, nodeadm ${show(expected)}`];
}

/** `doc` with one leaf changed (the first in key order), or a key added when it has no leaf. */
export function mutateJson(doc: unknown): unknown {
  if (isObject(doc)) {
    const keys = Object.keys(doc).sort();
    for (const k of keys) {
      if (isObject(doc[k]) && Object.keys(doc[k] as object).length === 0) continue;
      return { ...doc, [k]: mutateJson(doc[k]) };
    }
    return { ...doc, "~mutated": true };
  }
  if (Array.isArray(doc)) return doc.length ? [mutateJson(doc[0]), ...doc.slice(1)] : ["~mutated"];
  if (typeof doc === "string") return `${doc}~mutated`;
  if (typeof doc === "number") return doc === 0 ? 1 : -doc; // doc + 1 is doc itself above 2^53
  if (typeof doc === "boolean") return !doc;
  return "~mutated";
}

function jsonCheck(title: string, actual: unknown, expected: unknown): Check {
  return { title, expected, wrong: mutateJson(expected), compare: (e) => jsonDiff(actual, e) };
}

async function readCase(ctx: CheckContext, file: string): Promise<string> {
  return await Deno.readTextFile(`${ctx.caseDir}/${file}`);
}

/** `[Section] Key=` assignments of a systemd file: DefaultEnvironment / Environment words into a map. */
function envOf(text: string, section: string, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of parseUnitText(text)) {
    if (a.section !== section || a.key !== key) continue;
    for (const w of splitSystemdWords(a.value)) {
      const eq = w.indexOf("=");
      if (eq > 0) out[w.slice(0, eq)] = w.slice(eq + 1);
    }
  }
  return out;
}

/** Empty objects and empty strings dropped, recursively: nodeadm's cache writes `{}` for unset sections. */
function pruneEmpty(v: unknown): unknown {
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = pruneEmpty(x);
    if (p === "" || p === null || (isObject(p) && Object.keys(p).length === 0)) continue;
    out[k] = p;
  }
  return out;
}

/** The version-3 path of a version-2 containerd key (containerd 2's migration of the CRI plugin). */
export function v2PathToV3(path: string[]): string[] {
  const CRI = "io.containerd.grpc.v1.cri";
  if (path[0] !== "plugins" || path[1] !== CRI) return path;
  const rest = path.slice(2);
  const images = (p: string[]) => ["plugins", "io.containerd.cri.v1.images", ...p];
  const runtime = (p: string[]) => ["plugins", "io.containerd.cri.v1.runtime", ...p];
  if (rest[0] === "sandbox_image") return images(["pinned_images", "sandbox"]);
  if (rest[0] === "registry" || rest[0] === "image_decryption") return images(rest);
  if (
    [
      "max_concurrent_downloads",
      "image_pull_progress_timeout",
      "image_pull_with_sync_fs",
      "stats_collect_period",
    ]
      .includes(rest[0])
  ) return images(rest);
  if (
    rest[0] === "containerd" &&
    ["snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"].includes(rest[1])
  ) return images(rest.slice(1));
  if (
    [
      "disable_tcp_service",
      "stream_server_address",
      "stream_server_port",
      "stream_idle_timeout",
      "enable_tls_streaming",
      "x509_key_pair_streaming",
    ].includes(rest[0])
  ) return path;
  return runtime(rest);
}

function migrated(config: Record<string, Json>): Record<string, Json> {
  if (config.version !== 2) return config;
  let out: Json = { version: 3 };
  for (const leaf of leaves(config)) {
    if (leaf.path.length === 1 && leaf.path[0] === "version") continue;
    const p = v2PathToV3(leaf.path);
    let node: Json = leaf.value as Json;
    for (const k of [...p].reverse()) node = { [k]: node };
    out = mergeJson(out, node);
  }
  return out as Record<string, Json>;
}

/**
 * containerd 2's reading of eksnode's config against nodeadm's `config dump`: every key eksnode sets
 * has the dumped value, and every key nodeadm itself set (its version-3 template for the node, the
 * user's containerd.config) is set by eksnode too. The dump's other keys are containerd 2.0.5's
 * defaults, which eksnode leaves to containerd as nodeadm does (no containerd 2 here to dump ours).
 */
function dumpCheck(actual: Record<string, Json>, dump: Record<string, Json>, required: string[][]): Check {
  const compare = (e: unknown) => {
    const d = e as Record<string, Json>;
    const out: string[] = [];
    for (const leaf of leaves(actual)) {
      if (leaf.path.length === 1 && leaf.path[0] === "version") continue;
      const got = lookup(d, leaf.path);
      if (!got.found || JSON.stringify(got.value) !== JSON.stringify(leaf.value)) {
        out.push(
          `${dotted(leaf.path)}: eksnode ${show(leaf.value)}, containerd 2 dump of nodeadm's ${
            show(got.value)
          }`,
        );
      }
    }
    for (const p of required) {
      const want = lookup(d, p);
      if (want.found && !lookup(actual, p).found) {
        out.push(`${dotted(p)}: eksnode (absent), nodeadm ${show(want.value)}`);
      }
    }
    return out;
  };
  // Wrong on purpose: a key eksnode sets, with another value.
  const first = leaves(actual).find((l) => !(l.path.length === 1 && l.path[0] === "version"));
  let wrong: Json = dump;
  if (first) {
    let node: Json = mutateJson(first.value) as Json;
    for (const k of [...first.path].reverse()) node = { [k]: node };
    wrong = mergeJson(dump, node);
  }
  return { title: "containerd config as containerd 2 reads it", expected: dump, wrong, compare };
}

const exists = (root: string) => async (p: string) => {
  try {
    await Deno.stat(`${root}${p}`);
    return true;
  } catch {
    return false;
  }
};

/** Evaluates one expectation on the node after a run. */
export async function evaluate(e: Expect, ctx: CheckContext): Promise<Check> {
  const root = ctx.root;
  switch (e.kind) {
    case "kubeletConfig": {
      let expected = parseJsonOrYaml(await readCase(ctx, e.base));
      if (e.dropIn) expected = mergePatch(expected, parseJsonOrYaml(await readCase(ctx, e.dropIn)));
      return jsonCheck(
        "kubelet's effective config",
        durations(await kubeletConfig(root, ctx.kubeletVersion)),
        durations(expected),
      );
    }
    case "kubeletConfigLacks": {
      const actual = await kubeletConfig(root, ctx.kubeletVersion) as Record<string, Json>;
      const present = Object.keys(actual).sort();
      return {
        title: "fields absent from kubelet's effective config",
        expected: e.fields,
        wrong: [present[0]],
        compare: (fields) =>
          (fields as string[]).filter((f) => f in actual).map((f) =>
            `${f}: eksnode ${show(actual[f])}, nodeadm (absent)`
          ),
      };
    }
    case "kubeletFlags": {
      const actual = await kubeletFlags(root);
      const [firstName, firstWant] = Object.entries(e.flags)[0];
      return {
        title: "kubelet's effective flags",
        expected: e.flags,
        wrong: { [firstName]: firstWant === null ? "~mutated" : null },
        compare: (want) =>
          Object.entries(want as Record<string, string | RegExp | null>).flatMap(([flag, w]) => {
            const got = actual[flag];
            const ok = w === null
              ? got === undefined
              : w instanceof RegExp
              ? got !== undefined && w.test(got)
              : got === w;
            return ok
              ? []
              : [`${flag}: eksnode ${show(got)}, nodeadm ${w === null ? "(absent)" : String(w)}`];
          }),
      };
    }
    case "containerdConfig": {
      const actual = await withBaseSpecMarkers(await containerdConfig(root), exists(root));
      const expected = await withBaseSpecMarkers(
        parseToml(await readCase(ctx, e.file)) as Record<string, Json>,
        () => Promise.resolve(true),
      );
      const check = jsonCheck("containerd's config", actual, expected);
      if (expected.version !== 2) return check;
      // A version-2 file (nodeadm's, for containerd 1.7) is also read by this machine's containerd, where
      // there is one: its dump fills in the defaults, so a key written out with its default value and a key
      // left out compare the same. Keys this containerd does not know are dropped from its dump; the
      // structural comparison above still sees them.
      const dumps = await containerdDumps(actual, expected);
      if (dumps === undefined) return check;
      return {
        ...check,
        compare: (e) => [
          ...jsonDiff(actual, e),
          ...(e === expected ? jsonDiff(dumps.actual, dumps.expected).map((d) => `${dumps.tool}: ${d}`) : []),
        ],
      };
    }
    case "containerdDump": {
      const actual = migrated(await withBaseSpecMarkers(await containerdConfig(root), exists(root)));
      const always = () => Promise.resolve(true);
      const dump = await withBaseSpecMarkers(
        parseToml(await readCase(ctx, e.file)) as Record<string, Json>,
        always,
      );
      const template = parseToml(await readCase(ctx, e.template)) as Record<string, Json>;
      const nodeConfig = parseYaml(await readCase(ctx, e.user)) as {
        spec?: { containerd?: { config?: string } };
      };
      const user = migrated(parseToml(nodeConfig.spec?.containerd?.config ?? "") as Record<string, Json>);
      const required = [...leaves(template), ...leaves(user)]
        .map((l) => l.path)
        .filter((p) => !(p.length === 1 && p[0] === "version"));
      return dumpCheck(actual, dump, required);
    }
    case "baseRuntimeSpec":
      return jsonCheck(
        "the default runtime's base OCI spec",
        await baseRuntimeSpec(root),
        JSON.parse(await readCase(ctx, e.file)),
      );
    case "credentialProvider":
      return jsonCheck(
        "the image credential provider config kubelet reads",
        credentialProviderView(await kubeletFlagFile(root, "--image-credential-provider-config")),
        credentialProviderView(JSON.parse(await readCase(ctx, e.file))),
      );
    case "kubeconfig": {
      const mine = await kubeletFlagFile(root, "--kubeconfig");
      const actual = mine === undefined ? undefined : await kubeconfigView(root, mine);
      const caDir = await Deno.makeTempDir({ prefix: "eksnode-nodeadm-ca-" });
      try {
        // nodeadm writes the cluster CA to the path its kubeconfig names: the same view of its file.
        const doc = parseYaml(await readCase(ctx, e.file)) as Json;
        const clusters = isObject(doc) && Array.isArray(doc.clusters) ? doc.clusters : [];
        for (const c of clusters) {
          const ca = isObject(c) && isObject(c.cluster) ? c.cluster["certificate-authority"] : undefined;
          if (typeof ca === "string") {
            await Deno.mkdir(`${caDir}${ca.slice(0, ca.lastIndexOf("/"))}`, { recursive: true });
            await Deno.writeTextFile(`${caDir}${ca}`, ctx.caPem);
          }
        }
        return jsonCheck(
          "kubelet's kubeconfig",
          execView(trimStrings(actual)),
          execView(trimStrings(await kubeconfigView(caDir, doc))),
        );
      } finally {
        await Deno.remove(caDir, { recursive: true });
      }
    }
    case "environment": {
      const def = e.default ? envOf(await readCase(ctx, e.default), "Manager", "DefaultEnvironment") : {};
      const svc = async (
        f: string | null,
      ) => (f ? envOf(await readCase(ctx, f), "Service", "Environment") : {});
      const expected = {
        "(every unit)": def,
        [KUBELET_SERVICE]: { ...def, ...await svc(e.kubelet) },
        [CONTAINERD_SERVICE]: { ...def, ...await svc(e.containerd) },
      };
      const actual = {
        "(every unit)": await unitEnvironment(root, "eksnode-nodeadm-e2e-any.service"),
        [KUBELET_SERVICE]: await unitEnvironment(root, KUBELET_SERVICE),
        [CONTAINERD_SERVICE]: await unitEnvironment(root, CONTAINERD_SERVICE),
      };
      return jsonCheck("the environment units get", actual, expected);
    }
    case "resolved": {
      const expected: Record<string, string> = {};
      for (const a of parseUnitText(await readCase(ctx, e.file))) {
        if (a.section === "Resolve") expected[a.key] = a.value;
      }
      return jsonCheck("systemd-resolved's settings", await resolvedSettings(root), expected);
    }
    case "hosts": {
      const actual = (await hostsByName(root))[e.name] ?? [];
      return {
        title: `/etc/hosts addresses of ${e.name}`,
        expected: e.addresses,
        wrong: [...e.addresses, "192.0.2.255"],
        compare: (want) =>
          (want as string[]).filter((a) => !actual.includes(a)).map((a) =>
            `${e.name}: eksnode ${show(actual)} lacks ${a}`
          ),
      };
    }
    case "localDisks": {
      const units = await serviceUnits(root);
      const runs = await localDisksAtBoot(root, units, (u) => unitEnabled(root, u));
      return {
        title: "setup-local-disks run by an enabled unit",
        expected: e.strategy,
        wrong: "raid10",
        compare: (want) =>
          runs.some((argv) => argv[0]?.toLowerCase() === want)
            ? []
            : [`setup-local-disks: eksnode runs ${show(runs)}, nodeadm ${String(want)}`],
      };
    }
    case "cachedSpec": {
      let actual: unknown;
      try {
        actual = pruneEmpty(
          (JSON.parse(await Deno.readTextFile(`${root}${e.cache}`)) as { spec?: unknown }).spec,
        );
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      return jsonCheck(
        "the cached NodeConfig spec",
        actual,
        pruneEmpty(JSON.parse(await readCase(ctx, e.file))),
      );
    }
    case "proxyTraffic": {
      const norm = (entries: ProxyEntry[], endpoint: string) =>
        entries.map((x) => ({ ...x, url: x.url.replace(endpoint, "AWS_ENDPOINT_URL/") }));
      return jsonCheck(
        "EC2 API requests relayed by the proxy",
        norm(ctx.proxyLog ?? [], `${ctx.awsUrl}/`),
        norm(parseProxyLog(await readCase(ctx, e.file)), "http://0.0.0.0:5000/"),
      );
    }
  }
}

/** Strings trimmed of surrounding whitespace, recursively (a PEM with or without its last newline). */
function trimStrings(v: unknown): unknown {
  if (typeof v === "string") return v.trim();
  if (Array.isArray(v)) return v.map(trimStrings);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, trimStrings(x)]));
  return v;
}

/** A Go duration ("12h", "2m0s", "1h30m") as nanoseconds, or undefined when `s` is not one. */
export function goDuration(s: string): number | undefined {
  const units: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, us: 1e3, "µs": 1e3, ns: 1 };
  const m = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/.exec(s);
  if (!m || s === "0") return s === "0" ? 0 : undefined;
  let total = 0;
  for (const [, n, u] of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(n) * units[u];
  return total;
}

/**
 * Duration fields (metav1.Duration: "12h" and "12h0m0s" are the same to kubelet) written as
 * `(duration Nns)`, recursively, so two spellings of one duration compare equal.
 */
export function durations(v: unknown): unknown {
  if (typeof v === "string") {
    const ns = goDuration(v);
    return ns === undefined ? v : `(duration ${ns}ns)`;
  }
  if (Array.isArray(v)) return v.map(durations);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, durations(x)]));
  return v;
}

/** A CredentialProviderConfig with each provider's matchImages as a set (kubelet tries every pattern). */
function credentialProviderView(doc: unknown): unknown {
  const out = durations(structuredClone(doc)) as Record<string, unknown> | undefined;
  for (const p of (out?.providers ?? []) as Record<string, unknown>[]) {
    if (Array.isArray(p.matchImages)) p.matchImages = [...p.matchImages].sort();
  }
  return out;
}

/**
 * The kubeconfig's exec credential plugins as the user's processes run them: the command by its name
 * (found on PATH or given as /usr/bin/aws: the same AWS CLI), and the AWS CLI's `--output json`
 * (its default output) left out.
 */
function execView(doc: unknown): unknown {
  const out = structuredClone(doc) as Record<string, unknown> | undefined;
  for (const u of (out?.users ?? []) as { user?: { exec?: { command?: string; args?: string[] } } }[]) {
    const exec = u.user?.exec;
    if (!exec) continue;
    if (exec.command) exec.command = exec.command.slice(exec.command.lastIndexOf("/") + 1);
    const args = exec.args ?? [];
    const at = args.findIndex((a, i) => a === "--output" && args[i + 1] === "json");
    if (exec.command === "aws" && at >= 0) args.splice(at, 2);
  }
  return out;
}

/**
 * `containerd config dump` of both configs by this machine's containerd (as `containerd --version`
 * names it), without the keys a dump adds about the file itself (`imports`); undefined without one.
 */
async function containerdDumps(
  actual: Record<string, Json>,
  expected: Record<string, Json>,
): Promise<{ tool: string; actual: unknown; expected: unknown } | undefined> {
  let tool: string;
  try {
    const v = await new Deno.Command("containerd", { args: ["--version"], stdout: "piped", stderr: "null" })
      .output();
    tool = new TextDecoder().decode(v.stdout).trim().split(/\s+/).slice(0, 3).join(" ");
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const dir = await Deno.makeTempDir({ prefix: "eksnode-nodeadm-containerd-" });
  try {
    const dump = async (name: string, config: Record<string, Json>) => {
      await Deno.writeTextFile(`${dir}/${name}.toml`, stringifyToml(config));
      const out = await new Deno.Command("containerd", {
        args: ["--config", `${dir}/${name}.toml`, "config", "dump"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      if (!out.success) return `(containerd refuses it: ${new TextDecoder().decode(out.stderr).trim()})`;
      const doc = parseToml(text) as Record<string, Json>;
      delete doc.imports;
      return doc;
    };
    return { tool, actual: await dump("eksnode", actual), expected: await dump("nodeadm", expected) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
