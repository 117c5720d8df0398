/**
 * /etc/containerd/base-runtime-spec.json: the OCI spec every container starts from (the CRI runtime's
 * `base_runtime_spec`). The default raises RLIMIT_NOFILE to 65536 soft / 1048576 hard; NodeConfig
 * `containerd.baseRuntimeSpec` is merged over it.
 *
 * Sources (awslabs/amazon-eks-ami nodeadm @ 81fec2e8):
 * - `nodeadm/internal/containerd/base-runtime-spec.json`: the default, copied byte for byte to
 *   assets/containerd/base-runtime-spec.json and written as it is when NodeConfig has no baseRuntimeSpec.
 * - `nodeadm/internal/containerd/base_runtime_spec.go`: with a baseRuntimeSpec, the default and the
 *   user's document are merged (util.Merge: mergo with override, nested objects merged, lists replaced)
 *   and written with `json.MarshalIndent(..., "", "    ")` (Go sorts map keys; no newline at the end).
 * - e2e case `containerd-base-runtime-spec` (expected-base-runtime-spec.json) shows both: `foo` added,
 *   `process.rlimits` replaced by the user's list.
 */
import defaultSpecText from "../../assets/containerd/base-runtime-spec.json" with { type: "text" };
import { CONTAINERD_BASE_RUNTIME_SPEC } from "../paths/node.ts";
import { deepMerge } from "../api/merge.ts";

/** Where containerd's runtime config points `base_runtime_spec`. */
export const BASE_RUNTIME_SPEC_PATH = CONTAINERD_BASE_RUNTIME_SPEC;

/** nodeadm's default base runtime spec, as text. */
export const DEFAULT_BASE_RUNTIME_SPEC: string = defaultSpecText;

/**
 * The base runtime spec file's text: nodeadm's default, or with `override` merged over it (keys sorted,
 * four-space indent, as nodeadm writes it).
 * @example JSON.parse(renderBaseRuntimeSpec({ foo: "bar" })).foo // "bar"
 */
export function renderBaseRuntimeSpec(override?: Record<string, unknown>): string {
  if (override === undefined || Object.keys(override).length === 0) return DEFAULT_BASE_RUNTIME_SPEC;
  const merged = deepMerge(JSON.parse(DEFAULT_BASE_RUNTIME_SPEC), override);
  return JSON.stringify(sortKeys(merged), null, 4);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  // Go's encoding/json orders map keys by their bytes.
  for (const k of Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[k] = sortKeys((value as Record<string, unknown>)[k]);
  }
  return out;
}
