/**
 * NodeConfig `spec.instance.environment`: `{ SERVICE: { VARIABLE: value } }`, where the key `default` is
 * the whole system. Layout, file contents and quoting from awslabs/amazon-eks-ami
 * nodeadm/internal/system/environment.go (commit 81fec2e8):
 *
 * - `default` → /etc/systemd/system.conf.d/environment.conf, `[Manager]` with one
 *   `DefaultEnvironment="NAME=value"` a variable (every unit gets them; a unit's own `Environment=` wins);
 * - any other key → /etc/systemd/system/KEY.service.d/environment.conf, `[Service]` with
 *   `Environment="NAME=value"` lines;
 * - variables sorted by name; values quoted as Go's strconv.Quote does (`\\`, `\"`) and `%` doubled;
 * - a key with no variables writes nothing.
 *
 * nodeadm also exports `default` into its own process before it calls AWS (its "nodeadm environment"
 * aspect, for HTTP(S)_PROXY / NO_PROXY); eksnode does the same in cli/init_inputs.ts.
 *
 * One eksnode addition: sandbox-image.service (eksnode's unit that pulls the pause image with
 * `eksnode pull-image`; nodeadm has none) gets the `containerd` variables under its own, so a proxy given
 * to containerd also reaches the pause image pull.
 *
 * eksnode before this layout took a flat `{ VARIABLE: value }` map and wrote it to the kubelet and
 * containerd drop-ins; {@link normalizeEnvironment} keeps reading that form, with a warning.
 */
import { environmentLines } from "../../lib/systemd_quote.ts";
import {
  CONTAINERD_ENV_DROPIN,
  KUBELET_ENV_DROPIN,
  SANDBOX_IMAGE_ENV_DROPIN,
  serviceEnvDropIn,
  SYSTEM_ENV_CONF,
} from "../paths/node.ts";
import { ENV_DEFAULT } from "../api/values.ts";

/** `spec.instance.environment` in nodeadm's form: service (or `default`) → variable → value. */
export type EnvironmentOptions = Record<string, Record<string, string>>;

/** The result of {@link normalizeEnvironment}. */
export interface NormalizedEnvironment {
  /** The value to validate: nodeadm's form when the input was eksnode's flat form, else the input. */
  value: unknown;
  /** Set when the input was the flat form: a warning that shows the nodeadm form (names only, no values). */
  warning?: string;
}

/**
 * Turns eksnode's old flat form (`{ HTTPS_PROXY: "..." }`, every value a string) into nodeadm's
 * (`{ kubelet: {...}, containerd: {...} }`, what the flat form meant); anything else is returned as is for
 * the schema to judge. The warning names the variables but never their values (proxies carry passwords).
 * @example normalizeEnvironment({ A: "1" }).value // { kubelet: { A: "1" }, containerd: { A: "1" } }
 */
export function normalizeEnvironment(raw: unknown): NormalizedEnvironment {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { value: raw };
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === "string")) return { value: raw };
  const flat = Object.fromEntries(entries) as Record<string, string>;
  const names = Object.keys(flat).sort();
  const shown = `{ ${names.map((n) => `${n}: ...`).join(", ")} }`;
  return {
    value: { kubelet: { ...flat }, containerd: { ...flat } },
    warning: "spec.instance.environment is a flat map of variables (eksnode's old form); it is read as " +
      `environment: { kubelet: ${shown}, containerd: ${shown} }. Write that (nodeadm's form), or ` +
      `environment: { default: ${shown} } for every service and eksnode's own AWS calls`,
  };
}

/** One environment file: its text, or undefined when it must not exist. */
export interface EnvironmentFile {
  path: string;
  text?: string;
}

/** The services whose drop-in is always listed (removed when unset), in this order. */
const MANAGED = [ENV_DEFAULT, "kubelet", "containerd", "sandbox-image"];

/**
 * The environment files for `env`: the system default and one drop-in a service. The default, kubelet,
 * containerd and sandbox-image files are always listed (without text when unset) so that emptying them
 * removes them.
 * @example environmentFiles({ default: { A: "1" } })[0] // { path: "/etc/systemd/system.conf.d/environment.conf", text: "[Manager]\nDefaultEnvironment=\"A=1\"\n" }
 */
export function environmentFiles(env: Readonly<EnvironmentOptions>): EnvironmentFile[] {
  const out: EnvironmentFile[] = [
    { path: SYSTEM_ENV_CONF, text: renderDefaultEnvironment(env[ENV_DEFAULT] ?? {}) },
    { path: KUBELET_ENV_DROPIN, text: renderServiceEnvironment(env.kubelet ?? {}) },
    { path: CONTAINERD_ENV_DROPIN, text: renderServiceEnvironment(env.containerd ?? {}) },
    {
      path: SANDBOX_IMAGE_ENV_DROPIN,
      text: renderServiceEnvironment({ ...env.containerd, ...env["sandbox-image"] }),
    },
  ];
  for (const service of Object.keys(env).sort()) {
    if (MANAGED.includes(service)) continue;
    const text = renderServiceEnvironment(env[service]);
    if (text !== undefined) out.push({ path: serviceEnvDropIn(service), text });
  }
  return out;
}

/** The paths of the service drop-ins `env` writes beyond the always-listed ones (daemon-reload triggers). */
export function otherServiceDropIns(env: Readonly<EnvironmentOptions>): string[] {
  return environmentFiles(env).slice(MANAGED.length).map((f) => f.path);
}

/** `[Manager]` with `DefaultEnvironment=` lines, or undefined when there are no variables. */
export function renderDefaultEnvironment(vars: Readonly<Record<string, string>>): string | undefined {
  const lines = environmentLines(vars, "DefaultEnvironment");
  return lines.length === 0 ? undefined : `[Manager]\n${lines.join("\n")}\n`;
}

/** `[Service]` with `Environment=` lines, or undefined when there are no variables. */
export function renderServiceEnvironment(vars: Readonly<Record<string, string>>): string | undefined {
  const lines = environmentLines(vars);
  return lines.length === 0 ? undefined : `[Service]\n${lines.join("\n")}\n`;
}
