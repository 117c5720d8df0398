/**
 * What the daemons of a node would see, computed from the files under a root, whatever their paths:
 * kubelet's argv (its unit, expanded), its effective KubeletConfiguration (`--config` merged with the
 * `--config-dir` drop-ins as a kubelet of the image's version merges them, if it reads them at all), the
 * files its flags point at, containerd's config as containerd reads it (imports resolved), the environment
 * of a unit, systemd-resolved's settings, and /etc/hosts. The harness computes the same views of nodeadm's
 * expected files, so eksnode may lay out its files its own way.
 */
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { execStartArgv, loadUnit, parseUnitText, unitEnvironment } from "./systemd_read.ts";

/** A JSON-like value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** True for a plain object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `over` merged into `base` as kubelet merges a drop-in: objects key by key, anything else replaced. */
export function mergeJson(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeJson(out[k], v) : v;
  return out;
}

async function readIn(root: string, path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(`${root}${path}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return undefined;
    throw err;
  }
}

/** A JSON or YAML document (kubelet accepts both for its config files). */
export function parseJsonOrYaml(text: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    return parseYaml(text) as Json;
  }
}

// ---------------------------------------------------------------------------------------------
// kubelet

/** kubelet's unit. */
export const KUBELET_SERVICE = "kubelet.service";
/** containerd's unit. */
export const CONTAINERD_SERVICE = "containerd.service";

/** kubelet's argv (without the program), from its unit as systemd would start it. */
export async function kubeletArgv(root: string): Promise<string[]> {
  const argv = await execStartArgv(root, KUBELET_SERVICE);
  if (!argv) throw new Error(`no ${KUBELET_SERVICE} with an ExecStart under the root`);
  return argv.slice(1);
}

/**
 * Each kubelet flag's effective value: the last occurrence wins, as kubelet's flag parsing does;
 * `--flag value` and `--flag=value` both read; a flag without a value is "true".
 */
export function effectiveFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-")) continue;
    const name = a.replace(/^-+/, "").split("=")[0];
    const eq = a.indexOf("=");
    if (eq >= 0) out[`--${name}`] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("-")) out[`--${name}`] = argv[++i];
    else out[`--${name}`] = "true";
  }
  return out;
}

/** kubelet's effective flags under `root`. */
export async function kubeletFlags(root: string): Promise<Record<string, string>> {
  return effectiveFlags(await kubeletArgv(root));
}

/** `major.minor` of a kubelet version ("1.29.0", "v1.35.0-eks-5e0fdde"). */
function kubeletMinor(version: string): { major: number; minor: number } {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`not a kubelet version: ${version}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function versionBelow(version: string, minor: number): boolean {
  const v = kubeletMinor(version);
  return v.major < 1 || (v.major === 1 && v.minor < minor);
}

/**
 * `patch` applied to `target` as kubelet applies a drop-in (jsonpatch.MergePatch, RFC 7386): objects key
 * by key, `null` removes the key, anything else (lists too) replaced.
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(k in out ? out[k] : null, v);
  }
  return out;
}

/**
 * The drop-ins kubelet reads from `dir`, in its order: filepath.WalkDir from the directory (entries in
 * lexical order, a subdirectory walked where it sorts), every non-directory whose name ends in `.conf`
 * (cmd/kubelet/app/server.go `mergeKubeletConfigurations`). A missing directory is an error there too.
 */
async function dropInFiles(root: string, dir: string): Promise<string[]> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(`${root}${dir}`)) entries.push(e);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`kubelet's --config-dir ${dir} does not exist: kubelet would not start`);
    }
    throw err;
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = `${dir.replace(/\/$/, "")}/${e.name}`;
    if (e.isDirectory) out.push(...await dropInFiles(root, path));
    else if (e.name.endsWith(".conf")) out.push(path);
  }
  return out;
}

/**
 * kubelet's effective KubeletConfiguration, as a kubelet of `version` reads it (kubernetes.io "Set Kubelet
 * Parameters Via A Configuration File", drop-in directory; KEP-3983): the `--config` file, then, when
 * `--config-dir` is not empty, every drop-in of that directory (dropInFiles) applied in order with
 * {@link mergePatch}. What would stop kubelet from starting is an error: `--config-dir` before 1.28 (no
 * such flag), on 1.28 and 1.29 without `KUBELET_CONFIG_DROPIN_DIR_ALPHA` in its unit's environment, a
 * missing directory, a drop-in without `kind` and `apiVersion`.
 */
export async function kubeletConfig(root: string, version: string): Promise<Json> {
  const flags = await kubeletFlags(root);
  const path = flags["--config"];
  if (!path) throw new Error("kubelet has no --config");
  const text = await readIn(root, path);
  if (text === undefined) throw new Error(`kubelet's --config ${path} does not exist`);
  let config = parseJsonOrYaml(text);
  const dir = flags["--config-dir"];
  if (!dir) return config;
  if (versionBelow(version, 28)) {
    throw new Error(`kubelet ${version} has no --config-dir flag: it would not start`);
  }
  if (
    versionBelow(version, 30) &&
    !("KUBELET_CONFIG_DROPIN_DIR_ALPHA" in await unitEnvironment(root, KUBELET_SERVICE))
  ) {
    throw new Error(
      `kubelet ${version} refuses --config-dir without KUBELET_CONFIG_DROPIN_DIR_ALPHA in its environment`,
    );
  }
  for (const file of await dropInFiles(root, dir)) {
    const dropIn = parseJsonOrYaml((await readIn(root, file)) ?? "");
    if (!isObject(dropIn) || typeof dropIn.kind !== "string" || typeof dropIn.apiVersion !== "string") {
      throw new Error(`kubelet drop-in ${file} has no kind and apiVersion: kubelet would not start`);
    }
    config = mergePatch(config, dropIn);
  }
  return config;
}

/** The file a kubelet flag points at, parsed (JSON or YAML), or undefined when the flag is not set. */
export async function kubeletFlagFile(root: string, flag: string): Promise<Json | undefined> {
  const path = (await kubeletFlags(root))[flag];
  if (!path) return undefined;
  const text = await readIn(root, path);
  if (text === undefined) throw new Error(`kubelet's ${flag} ${path} does not exist`);
  return parseJsonOrYaml(text);
}

/**
 * kubelet's kubeconfig with file references replaced by what they hold (`certificate-authority: PATH`
 * becomes `certificate-authority-file-content: TEXT`), so two layouts compare by meaning.
 */
export async function kubeconfigView(root: string, doc: Json): Promise<Json> {
  if (!isObject(doc)) return doc;
  const clusters = Array.isArray(doc.clusters) ? doc.clusters : [];
  const out = structuredClone(doc) as Record<string, Json>;
  out.clusters = await Promise.all(clusters.map(async (c) => {
    if (!isObject(c) || !isObject(c.cluster)) return c;
    const cluster = { ...c.cluster };
    const ca = cluster["certificate-authority"];
    if (typeof ca === "string") {
      delete cluster["certificate-authority"];
      cluster["certificate-authority-file-content"] = (await readIn(root, ca)) ?? `(missing ${ca})`;
    }
    return { ...c, cluster };
  }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// containerd

/** containerd's config path: `--config`/`-c` of its unit's ExecStart, else containerd's default. */
export async function containerdConfigPath(root: string): Promise<string> {
  const argv = (await execStartArgv(root, CONTAINERD_SERVICE)) ?? [];
  const flags = effectiveFlags(argv.slice(1));
  return flags["--config"] ?? flags["--c"] ?? "/etc/containerd/config.toml";
}

/** Paths matching a glob of `*` in the last component, under root. */
async function globIn(root: string, pattern: string): Promise<string[]> {
  const slash = pattern.lastIndexOf("/");
  const dir = pattern.slice(0, slash);
  const re = new RegExp(
    `^${pattern.slice(slash + 1).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`,
  );
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${root}${dir}`)) if (re.test(e.name)) out.push(`${dir}/${e.name}`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/**
 * containerd's config as containerd reads it, minus the built-in defaults: the file, with its `imports`
 * read and merged (containerd's rule: an imported file's plugin sections replace whole sections, other
 * keys are overwritten) and the `imports` key itself dropped.
 */
export async function containerdConfig(root: string): Promise<Record<string, Json>> {
  const path = await containerdConfigPath(root);
  const text = await readIn(root, path);
  if (text === undefined) throw new Error(`containerd's config ${path} does not exist`);
  const config = parseToml(text) as Record<string, Json>;
  const imports = Array.isArray(config.imports) ? config.imports as string[] : [];
  delete config.imports;
  for (const pattern of imports) {
    for (const f of pattern.includes("*") ? await globIn(root, pattern) : [pattern]) {
      const more = parseToml((await readIn(root, f)) ?? "") as Record<string, Json>;
      delete more.imports;
      for (const [k, v] of Object.entries(more)) {
        if (k === "plugins" && isObject(v) && isObject(config.plugins)) {
          config.plugins = { ...config.plugins, ...v };
        } else config[k] = v;
      }
    }
  }
  return config;
}

/** The CRI runtime tables of a version-2 or version-3 config, by runtime name. */
function runtimes(config: Record<string, Json>): { name: string; table: Record<string, Json> }[] {
  const plugins = isObject(config.plugins) ? config.plugins : {};
  const out: { name: string; table: Record<string, Json> }[] = [];
  for (const plugin of ["io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"]) {
    const p = plugins[plugin];
    const rts = isObject(p) && isObject(p.containerd) && isObject(p.containerd.runtimes)
      ? p.containerd.runtimes
      : {};
    for (const [name, table] of Object.entries(rts)) if (isObject(table)) out.push({ name, table });
  }
  return out;
}

/** The name and table of the default CRI runtime. */
export function defaultRuntime(
  config: Record<string, Json>,
): { name: string; table: Record<string, Json> } | undefined {
  const plugins = isObject(config.plugins) ? config.plugins : {};
  for (const plugin of ["io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"]) {
    const p = plugins[plugin];
    const name = isObject(p) && isObject(p.containerd) ? p.containerd.default_runtime_name : undefined;
    if (typeof name === "string") return runtimes(config).find((r) => r.name === name);
  }
  return undefined;
}

/** The base OCI spec of the default runtime, read from the file its `base_runtime_spec` names. */
export async function baseRuntimeSpec(root: string): Promise<Json | undefined> {
  const rt = defaultRuntime(await containerdConfig(root));
  const path = rt?.table.base_runtime_spec;
  if (typeof path !== "string" || path === "") return undefined;
  const text = await readIn(root, path);
  return text === undefined ? undefined : JSON.parse(text);
}

/**
 * The EKS pause image wherever the image keeps it: nodeadm's AMI caches it at build time under the
 * local tag `localhost/kubernetes/pause:latest` (templates/al2023/runtime/bin/cache-pause-container,
 * nodeadm/cmd/nodeadm/init/init.go at 81fec2e8); eksnode names it in its EKS ECR registry.
 */
const EKS_PAUSE = [
  /^localhost\/kubernetes\/pause:latest$/,
  /^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/eks\/pause:[\w.-]+$/,
];
const PAUSE_MARKER = "(the EKS pause image)";

/**
 * A config with layout choices replaced by what they mean: each runtime's `base_runtime_spec` path by a
 * marker saying whether the file is there (its content is the base-runtime-spec case's business), and
 * the sandbox image by a marker when it is the EKS pause image (cached locally or named in ECR).
 */
export async function withBaseSpecMarkers(
  config: Record<string, Json>,
  exists: (path: string) => Promise<boolean>,
): Promise<Record<string, Json>> {
  const out = structuredClone(config);
  const plugins = isObject(out.plugins) ? out.plugins : {};
  const v2 = plugins["io.containerd.grpc.v1.cri"];
  if (
    isObject(v2) && typeof v2.sandbox_image === "string" &&
    EKS_PAUSE.some((r) => r.test(v2.sandbox_image as string))
  ) {
    v2.sandbox_image = PAUSE_MARKER;
  }
  const images = plugins["io.containerd.cri.v1.images"];
  const pinned = isObject(images) ? images.pinned_images : undefined;
  if (
    isObject(pinned) && typeof pinned.sandbox === "string" &&
    EKS_PAUSE.some((r) => r.test(pinned.sandbox as string))
  ) {
    pinned.sandbox = PAUSE_MARKER;
  }
  for (const { table } of runtimes(out)) {
    const p = table.base_runtime_spec;
    if (typeof p === "string" && p !== "") {
      table.base_runtime_spec = (await exists(p)) ? "(a base runtime spec file)" : `(missing file ${p})`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// systemd, resolved, hosts, setup-local-disks

/** The environment a unit's processes get (see systemd_read.ts). */
export { unitEnvironment };

/**
 * systemd-resolved's [Resolve] settings after its drop-ins (resolved.conf(5): /etc, /run, /usr/lib
 * `resolved.conf.d/*.conf`, one per name, lexical order, later wins per key).
 */
export async function resolvedSettings(root: string): Promise<Record<string, string>> {
  const dirs = [
    "/etc/systemd/resolved.conf.d",
    "/run/systemd/resolved.conf.d",
    "/usr/lib/systemd/resolved.conf.d",
  ];
  const byName = new Map<string, string>();
  for (const d of dirs) {
    try {
      for await (const e of Deno.readDir(`${root}${d}`)) {
        if (e.name.endsWith(".conf") && !byName.has(e.name)) byName.set(e.name, `${d}/${e.name}`);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  const out: Record<string, string> = {};
  const files = ["/etc/systemd/resolved.conf", ...[...byName.keys()].sort().map((n) => byName.get(n)!)];
  for (const f of files) {
    for (const a of parseUnitText((await readIn(root, f)) ?? "")) {
      if (a.section === "Resolve") out[a.key] = a.value;
    }
  }
  return out;
}

/** /etc/hosts as name → addresses (in file order). */
export async function hostsByName(root: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const raw of ((await readIn(root, "/etc/hosts")) ?? "").split("\n")) {
    const [addr, ...names] = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (!addr) continue;
    for (const n of names) (out[n] ??= []).push(addr);
  }
  return out;
}

/**
 * What runs `setup-local-disks` at boot: for every enabled service whose ExecStart runs a
 * `setup-local-disks` command, its arguments after that word.
 */
export async function localDisksAtBoot(
  root: string,
  services: string[],
  enabled: (unit: string) => Promise<boolean>,
): Promise<string[][]> {
  const out: string[][] = [];
  for (const unit of services) {
    const loaded = await loadUnit(root, unit);
    if (!loaded.path || !(await enabled(unit))) continue;
    const argv = await execStartArgv(root, unit);
    const at = argv?.findIndex((w) => w === "setup-local-disks" || w.endsWith("/setup-local-disks")) ?? -1;
    if (argv && at >= 0) out.push(argv.slice(at + 1));
  }
  return out;
}
