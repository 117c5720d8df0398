/**
 * Evaluates the CIS Amazon EKS Benchmark's worker-node controls (eks/verify/cis/controls.ts) against a node or a
 * `--root` tree, the way kube-bench does on a running node but from the files instead of `ps`:
 *
 * - kubelet's command line: the last `ExecStart=` of kubelet.service with its drop-ins
 *   (`kubelet.service.d/*.conf`, as systemd orders them), `$VAR` / `${VAR}` expanded from `Environment=`
 *   and `EnvironmentFile=` as systemd does (`$VAR` alone splits into words, `${VAR}` does not), `%%` as %;
 * - the config file `--config` names (JSON or YAML) with the drop-ins of `--config-dir` merged over it in
 *   file-name order (objects field by field, everything else replaced: kubelet's directory merging);
 * - flags win over the merged file, as in kubelet.
 *
 * Each control ends as PASS, FAIL or WARN with what was found (value and where it came from) and what
 * to do. Nothing is changed.
 */
import { parse as parseYaml } from "yaml";
import { modeString } from "../../../lib/changes.ts";
import { ConfigError } from "../../../lib/errors.ts";
import type { Host } from "../../../lib/host.ts";
import { ShellSyntaxError, splitShellWords } from "../../../lib/shell_words.ts";
import { unitFile } from "../../../lib/systemd.ts";
import { KUBECONFIG, KUBELET_CONFIG } from "../../paths/node.ts";
import { deepMerge } from "../../api/merge.ts";
import type { Benchmark, Control, ControlTest } from "./controls.ts";

/** kube-bench's result states (INFO is for headings only here). */
export type ControlState = "PASS" | "FAIL" | "WARN";

/** One control's outcome. */
export interface ControlResult {
  id: string;
  text: string;
  /** Automated (a failed test is a FAIL) or manual (a WARN). */
  scored: boolean;
  state: ControlState;
  /** What was found, naming the file or flag it came from. */
  found: string;
  /** What to do when the control does not pass. */
  remediation: string;
  /** Why EKS needs a setting the benchmark discourages, when it does. */
  note?: string;
}

/** kubelet's effective settings as read from the tree. */
export interface KubeletSetup {
  unit: string;
  /** The kubelet command line, expanded. */
  argv: string[];
  /** `--name` → value (the last occurrence wins, as kubelet's flag parsing does). */
  flags: Map<string, string>;
  configPath: string;
  /** The config file with its drop-ins merged; undefined when the file is missing. */
  config: Record<string, unknown> | undefined;
  /** Files merged into `config`, in order. */
  configFiles: string[];
}

type Obj = Record<string, unknown>;

/** kubelet flags that take no value (`--flag` alone means true). */
const BOOL_FLAGS = new Set([
  "anonymous-auth",
  "authentication-token-webhook",
  "protect-kernel-defaults",
  "make-iptables-util-chains",
  "rotate-certificates",
  "rotate-server-certificates",
  "fail-swap-on",
]);

const UNIT_DROPIN_DIRS = [
  "/etc/systemd/system",
  "/run/systemd/system",
  "/usr/lib/systemd/system",
  "/lib/systemd/system",
];

/** Joins backslash-continued lines of a unit file; comments dropped. */
function unitLines(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (cur === "" && /^\s*[#;]/.test(line)) continue;
    if (line.endsWith("\\")) cur += line.slice(0, -1) + " ";
    else {
      out.push((cur + line).trim());
      cur = "";
    }
  }
  if (cur) out.push(cur.trim());
  return out;
}

/** KEY=VALUE lines of an environment file (quotes around the value removed). */
export function parseEnvironmentFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of unitLines(text)) {
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
    env.set(m[1], v);
  }
  return env;
}

function words(text: string, where: string): string[] {
  try {
    return splitShellWords(text);
  } catch (err) {
    if (err instanceof ShellSyntaxError) throw new ConfigError(`${where}: ${err.message}`);
    throw err;
  }
}

/**
 * Expands an ExecStart command line as systemd does: a word that is exactly `$VAR` becomes the value's
 * words, `${VAR}` is replaced inside its word, `%%` is %.
 * @example expandExecStart("/usr/bin/kubelet $ARGS", new Map([["ARGS", "--a=1 --b"]])) // ["/usr/bin/kubelet", "--a=1", "--b"]
 */
export function expandExecStart(
  line: string,
  env: ReadonlyMap<string, string>,
  where = "ExecStart",
): string[] {
  const out: string[] = [];
  for (const w of words(line.replace(/^[-@:+!]+/, ""), where)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) {
      out.push(...words(env.get(whole[1]) ?? "", `${where}: $${whole[1]}`));
      continue;
    }
    out.push(
      w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k: string) => env.get(k) ?? "").replaceAll("%%", "%"),
    );
  }
  return out;
}

/** `--name=value` / `--name value` / `--bool` flags of a kubelet argv (after the program). */
export function parseKubeletFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-")) continue;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    if (eq >= 0) flags.set(body.slice(0, eq), body.slice(eq + 1));
    else if (BOOL_FLAGS.has(body)) flags.set(body, "true");
    else if (i + 1 < args.length && !args[i + 1].startsWith("-")) flags.set(body, args[++i]);
    else flags.set(body, "");
  }
  return flags;
}

function parseConfig(text: string, path: string): Obj {
  let data: unknown;
  try {
    data = parseYaml(text); // YAML is a superset of JSON: kubelet reads either
  } catch (err) {
    throw new ConfigError(`${path} is neither JSON nor YAML: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`${path} does not hold a KubeletConfiguration object`);
  }
  return data as Obj;
}

/**
 * Reads kubelet's unit (with drop-ins and environment), command line and configuration under the root.
 * A root without kubelet.service is a ConfigError: the controls concern a configured node.
 */
export async function readKubeletSetup(host: Host): Promise<KubeletSetup> {
  const unit = await unitFile(host, "kubelet.service");
  if (!unit) {
    throw new ConfigError(
      `no kubelet.service under ${host.root}: the benchmark's worker-node controls concern a configured node`,
      "run it on a node, or on a tree after `eksnode init --root DIR` (an image gets kubelet's unit and config at boot)",
    );
  }
  const dropins = new Map<string, string>();
  for (const dir of UNIT_DROPIN_DIRS) {
    for (const name of (await host.readDir(`${dir}/kubelet.service.d`)) ?? []) {
      if (name.endsWith(".conf") && !dropins.has(name)) dropins.set(name, `${dir}/kubelet.service.d/${name}`);
    }
  }
  const files = [unit, ...[...dropins.keys()].sort().map((n) => dropins.get(n)!)];
  const env = new Map<string, string>();
  let exec: { line: string; where: string } | undefined;
  for (const path of files) {
    let section = "";
    for (const line of unitLines((await host.readText(path)) ?? "")) {
      if (line.startsWith("[")) {
        section = line;
        continue;
      }
      if (section !== "[Service]") continue;
      const m = /^(\w+)\s*=\s*(.*)$/.exec(line);
      if (!m) continue;
      const [, key, value] = m;
      if (key === "ExecStart") exec = value.trim() === "" ? undefined : { line: value, where: path };
      else if (key === "Environment") {
        for (const w of words(value, `${path}: Environment=`)) {
          const eq = w.indexOf("=");
          if (eq > 0) env.set(w.slice(0, eq), w.slice(eq + 1));
        }
      } else if (key === "EnvironmentFile") {
        const file = value.trim().replace(/^-/, "");
        const text = await host.readText(file);
        for (const [k, v] of parseEnvironmentFile(text ?? "")) env.set(k, v);
      }
    }
  }
  const argv = exec ? expandExecStart(exec.line, env, `${exec.where}: ExecStart=`) : [];
  const flags = parseKubeletFlags(argv.slice(1));
  const configPath = flags.get("config") || KUBELET_CONFIG;
  const configText = await host.readText(configPath);
  let config: Obj | undefined;
  const configFiles: string[] = [];
  if (configText !== undefined) {
    config = parseConfig(configText, configPath);
    configFiles.push(configPath);
    const dir = flags.get("config-dir");
    if (dir) {
      for (const name of ((await host.readDir(dir)) ?? []).filter((n) => n.endsWith(".conf")).sort()) {
        const path = `${dir.replace(/\/$/, "")}/${name}`;
        config = deepMerge(config, parseConfig((await host.readText(path)) ?? "", path));
        configFiles.push(path);
      }
    }
  }
  return { unit, argv, flags, configPath, config, configFiles };
}

/** A setting as kubelet sees it: the flag when given, else the merged config; with where it came from. */
interface Setting {
  set: boolean;
  value: unknown;
  from: string;
}

function lookup(k: KubeletSetup, flag: string | undefined, path: string): Setting {
  if (flag && k.flags.has(flag)) return { set: true, value: k.flags.get(flag), from: `flag --${flag}` };
  let cur: unknown = k.config;
  for (const key of path.split(".")) {
    cur = cur && typeof cur === "object" && !Array.isArray(cur) ? (cur as Obj)[key] : undefined;
  }
  const where = k.configFiles.length > 1 ? `${k.configFiles[0]} + drop-ins` : k.configPath;
  return cur === undefined
    ? { set: false, value: undefined, from: `not set in ${where} or the flags` }
    : { set: true, value: cur, from: where };
}

/** The value of a feature gate from `--feature-gates=A=true,B=false` or the config's featureGates. */
function featureGate(k: KubeletSetup, gate: string): Setting {
  const flag = k.flags.get("feature-gates");
  if (flag !== undefined) {
    for (const pair of flag.split(",")) {
      const [name, value] = pair.split("=");
      if (name?.trim() === gate) return { set: true, value: value?.trim(), from: "flag --feature-gates" };
    }
  }
  return lookup(k, undefined, `featureGates.${gate}`);
}

const asBool = (v: unknown): boolean | undefined =>
  v === true || v === "true" ? true : v === false || v === "false" ? false : undefined;
const show = (s: Setting, name: string) =>
  s.set ? `${name} ${JSON.stringify(s.value)} (${s.from})` : `${name} ${s.from}`;
/** A Go duration (or number) that is zero: "0", "0s", "0h0m0s", 0. */
const isZeroDuration = (v: unknown) => (String(v).match(/[0-9.]+/g) ?? ["1"]).every((n) => Number(n) === 0);

/** Restart advice every kubelet setting ends with. */
const RESTART = "then `systemctl daemon-reload && systemctl restart kubelet`";
const configFix = (k: KubeletSetup, setting: string, flag: string) =>
  `set ${setting} in ${k.configPath} (eksnode: NodeConfig spec.kubelet.config) and make sure no ${flag} flag in ` +
  `${k.unit} or its drop-ins overrides it; ${RESTART}`;

interface Outcome {
  pass: boolean;
  found: string;
  remediation: string;
  note?: string;
}

async function fileMode(host: Host, path: string, what: string): Promise<Outcome> {
  const st = await host.stat(path);
  const remediation = `chmod 644 ${path} (or stricter; eksnode writes ${what} with this mode)`;
  if (!st) return { pass: false, found: `${path} missing`, remediation };
  return {
    pass: (st.mode & ~0o644) === 0,
    found: `${path} permissions=${modeString(st.mode).replace(/^0/, "")}`,
    remediation,
  };
}

async function fileOwner(host: Host, path: string): Promise<Outcome> {
  const st = await host.stat(path);
  const remediation = `chown root:root ${path}`;
  if (!st) return { pass: false, found: `${path} missing`, remediation };
  return { pass: st.uid === 0 && st.gid === 0, found: `${path} owner ${st.uid}:${st.gid}`, remediation };
}

/** The kubeconfig kubelet uses: `--kubeconfig`, or the bootstrap one until TLS bootstrap wrote it. */
async function kubeconfigPath(host: Host, k: KubeletSetup): Promise<string> {
  const path = k.flags.get("kubeconfig") || KUBECONFIG;
  const bootstrap = k.flags.get("bootstrap-kubeconfig");
  if (!(await host.exists(path)) && bootstrap && (await host.exists(bootstrap))) return bootstrap;
  return path;
}

async function evaluate(host: Host, k: KubeletSetup, test: ControlTest): Promise<Outcome> {
  switch (test) {
    case "kubeconfigMode":
      return fileMode(host, await kubeconfigPath(host, k), "kubelet's kubeconfig 0600");
    case "kubeconfigOwner":
      return fileOwner(host, await kubeconfigPath(host, k));
    case "configMode":
      return fileMode(host, k.configPath, "the kubelet config 0644");
    case "configOwner":
      return fileOwner(host, k.configPath);
    case "anonymousAuth": {
      const s = lookup(k, "anonymous-auth", "authentication.anonymous.enabled");
      return {
        pass: s.set && asBool(s.value) === false,
        found: show(s, "authentication.anonymous.enabled") + (s.set ? "" : " (kubelet's default is true)"),
        remediation: configFix(k, `"authentication": {"anonymous": {"enabled": false}}`, "--anonymous-auth"),
      };
    }
    case "authorizationMode": {
      const s = lookup(k, "authorization-mode", "authorization.mode");
      return {
        pass: s.set && !String(s.value).split(",").some((m) => m.trim() === "AlwaysAllow"),
        found: show(s, "authorization.mode"),
        remediation: configFix(
          k,
          `"authentication": {"webhook": {"enabled": true}} and "authorization": {"mode": "Webhook"}`,
          "--authorization-mode",
        ),
      };
    }
    case "clientCaFile": {
      const s = lookup(k, "client-ca-file", "authentication.x509.clientCAFile");
      return {
        pass: s.set && String(s.value) !== "",
        found: show(s, "authentication.x509.clientCAFile"),
        remediation: configFix(
          k,
          `"authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}`,
          "--client-ca-file",
        ),
      };
    }
    case "readOnlyPort": {
      const s = lookup(k, "read-only-port", "readOnlyPort");
      return {
        pass: s.set && Number(s.value) === 0,
        found: show(s, "readOnlyPort") + (s.set ? "" : " (the flag's default is 10255)"),
        remediation: configFix(k, `"readOnlyPort": 0`, "--read-only-port"),
      };
    }
    case "streamingIdleTimeout": {
      const s = lookup(k, "streaming-connection-idle-timeout", "streamingConnectionIdleTimeout");
      return {
        pass: !s.set || !isZeroDuration(s.value),
        found: show(s, "streamingConnectionIdleTimeout") + (s.set ? "" : " (kubelet's default 4h0m0s)"),
        remediation: configFix(
          k,
          `"streamingConnectionIdleTimeout": "4h0m0s" (not 0)`,
          "--streaming-connection-idle-timeout",
        ),
      };
    }
    case "protectKernelDefaults": {
      const s = lookup(k, "protect-kernel-defaults", "protectKernelDefaults");
      return {
        pass: s.set && asBool(s.value) === true,
        found: show(s, "protectKernelDefaults"),
        remediation: configFix(k, `"protectKernelDefaults": true`, "--protect-kernel-defaults"),
      };
    }
    case "iptablesUtilChains": {
      const s = lookup(k, "make-iptables-util-chains", "makeIPTablesUtilChains");
      return {
        pass: !s.set || asBool(s.value) === true,
        found: show(s, "makeIPTablesUtilChains") + (s.set ? "" : " (kubelet's default true)"),
        remediation: configFix(
          k,
          `"makeIPTablesUtilChains": true (or leave it unset)`,
          "--make-iptables-util-chains",
        ),
      };
    }
    case "hostnameOverride": {
      const v = k.flags.get("hostname-override");
      const external = k.flags.get("cloud-provider") === "external";
      return {
        pass: v === undefined,
        found: v === undefined ? "--hostname-override not set" : `--hostname-override=${v} (${k.unit})`,
        remediation: `remove --hostname-override from ${k.unit}; ${RESTART}`,
        note: v !== undefined && external
          ? "EKS needs it: with --cloud-provider=external the node must register under its EC2 private DNS " +
            "name (or instance id), which the OS host name is not in a VPC with its own DHCP domain; nodeadm and " +
            "eksnode set it on purpose, and the benchmark makes this control Manual, so it is a WARN to review, " +
            "never a FAIL"
          : undefined,
      };
    }
    case "eventRecordQps": {
      const s = lookup(k, "event-qps", "eventRecordQPS");
      return {
        pass: !s.set || Number(s.value) >= 0,
        found: show(s, "eventRecordQPS") + (s.set ? "" : " (kubelet's default 50)"),
        remediation: configFix(
          k,
          `"eventRecordQPS" to 0 or a level that captures the events you need`,
          "--event-qps",
        ),
      };
    }
    case "rotateCertificates": {
      const s = lookup(k, "rotate-certificates", "rotateCertificates");
      return {
        pass: !s.set || asBool(s.value) === true,
        found: show(s, "rotateCertificates"),
        remediation: configFix(k, `"rotateCertificates": true (or leave it unset)`, "--rotate-certificates"),
      };
    }
    case "rotateServerCertificate": {
      const s = featureGate(k, "RotateKubeletServerCertificate");
      return {
        pass: s.set && asBool(s.value) === true,
        found: show(s, "featureGates.RotateKubeletServerCertificate"),
        remediation: configFix(
          k,
          `"featureGates": {"RotateKubeletServerCertificate": true}`,
          "--feature-gates",
        ),
      };
    }
    case "containerOptimizedOs": {
      const os = /^PRETTY_NAME=["']?([^"'\n]*)/m.exec((await host.readText("/etc/os-release")) ?? "")?.[1];
      return {
        pass: false,
        found: `operating system: ${os ?? "unknown (/etc/os-release has no PRETTY_NAME)"}`,
        remediation:
          "a judgement call: Bottlerocket is the container-optimized OS for EKS; eksnode hardens the " +
          "general-purpose base image it is given",
      };
    }
  }
}

/** The outcome of one control, given kubelet's setup (PASS; else FAIL when scored, WARN when manual). */
export async function evaluateControl(host: Host, k: KubeletSetup, c: Control): Promise<ControlResult> {
  const o = await evaluate(host, k, c.test);
  return {
    id: c.id,
    text: c.text,
    scored: c.scored,
    state: o.pass ? "PASS" : c.scored ? "FAIL" : "WARN",
    found: o.found,
    remediation: o.remediation,
    ...(o.note ? { note: o.note } : {}),
  };
}

/** Every control of a benchmark against the tree under the host's root. */
export async function evaluateBenchmark(host: Host, b: Benchmark): Promise<ControlResult[]> {
  const k = await readKubeletSetup(host);
  const out: ControlResult[] = [];
  for (const g of b.groups) for (const c of g.controls) out.push(await evaluateControl(host, k, c));
  return out;
}
