/**
 * Merges NodeConfig parts in order, with nodeadm's rules (awslabs/amazon-eks-ami
 * nodeadm/internal/api/merge.go, commit 832409d730168ca9a7cc87c7592f77f4c115d727, which calls
 * mergo.Merge(dst, src, WithOverride) with a transformer):
 *
 * - typed scalars (`cluster.name`, `localStorage.strategy`, ...): a later non-empty value wins; an
 *   empty string does not override (mergo skips empty source values);
 * - `kubelet.flags`: appended, later flags last, since kubelet's last flag wins ("we choose to
 *   explicitly append slices for this field and no other slices");
 * - other lists (`localStorage.disabledMounts`): a later non-empty list replaces the earlier one;
 * - `kubelet.config`, `containerd.baseRuntimeSpec`, `metadata`: deep merge of objects, lists
 *   replaced, later values win;
 * - `containerd.config`: both TOML texts parsed, deep-merged the same way, written back as TOML;
 * - maps (`featureGates`, `instance.environment`): merged key by key, later keys win.
 *
 * One deliberate difference: inside the free-form documents and maps an explicit `false`, `0` or
 * `""` from a later part wins, where mergo would keep the earlier value (it treats zero values as
 * "unset"). A user who writes `serializeImagePulls: false` means it.
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import type { NodeConfigInput } from "./nodeconfig.ts";
import { NODECONFIG_API_VERSION, NODECONFIG_KIND } from "./values.ts";

type Obj = Record<string, unknown>;

/** Paths (dot-joined) whose values are free-form: merged deeply, explicit zero values win. */
const DEEP = new Set([
  "metadata",
  "spec.kubelet.config",
  "spec.containerd.baseRuntimeSpec",
  "spec.featureGates",
  "spec.instance.environment",
]);
const APPEND = "spec.kubelet.flags";
const TOML = "spec.containerd.config";

/**
 * Merges validated NodeConfig parts, earliest first; returns a new object (inputs are not changed).
 * @example mergeNodeConfigs([{ ...a }, { ...b }]).spec?.kubelet?.flags // a's flags, then b's
 */
export function mergeNodeConfigs(configs: readonly NodeConfigInput[]): NodeConfigInput {
  let merged: Obj = { apiVersion: NODECONFIG_API_VERSION, kind: NODECONFIG_KIND };
  for (const config of configs) merged = mergeTyped(merged, config as Obj, "");
  return merged as NodeConfigInput;
}

/** Merges two containerd TOML documents: tables deep-merged, later keys win, arrays replaced. */
export function mergeToml(base: string, override: string): string {
  if (base.trim() === "") return override;
  if (override.trim() === "") return base;
  const merged = deepMerge(parseToml(base) as Obj, parseToml(override) as Obj);
  return stringifyToml(merged);
}

/** Deep merge of plain objects: nested objects merged, anything else (lists too) replaced by `src`. */
export function deepMerge(dst: Obj, src: Obj): Obj {
  const out: Obj = { ...dst };
  for (const [key, value] of Object.entries(src)) {
    if (value === undefined || value === null) continue;
    const prev = out[key];
    out[key] = isPlainObject(value) && isPlainObject(prev) ? deepMerge(prev, value) : clone(value);
  }
  return out;
}

function mergeTyped(dst: Obj, src: Obj, path: string): Obj {
  const out: Obj = { ...dst };
  for (const [key, value] of Object.entries(src)) {
    if (value === undefined || value === null) continue;
    const at = path === "" ? key : `${path}.${key}`;
    const prev = out[key];
    if (DEEP.has(at)) {
      out[key] = isPlainObject(value) && isPlainObject(prev) ? deepMerge(prev, value) : clone(value);
    } else if (at === APPEND) {
      out[key] = [...(Array.isArray(prev) ? prev : []), ...(value as unknown[])];
    } else if (at === TOML) {
      out[key] = typeof prev === "string" ? mergeToml(prev, value as string) : value;
    } else if (isPlainObject(value)) {
      out[key] = mergeTyped(isPlainObject(prev) ? prev : {}, value, at);
    } else if (value === "" || (Array.isArray(value) && value.length === 0)) {
      if (prev === undefined) out[key] = clone(value);
    } else {
      out[key] = clone(value);
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Copies JSON-like data so the merged result shares nothing with its inputs; other values (TOML dates) pass. */
function clone<T>(v: T): T {
  return Array.isArray(v) || isPlainObject(v) ? structuredClone(v) : v;
}
