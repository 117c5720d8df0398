/**
 * kubelet config: every kubelet-config.json and every drop-in of config.json.d must decode as a
 * kubelet.config.k8s.io/v1beta1 KubeletConfiguration, checked against the schema in
 * ./kubelet_config_schema.ts (field names and types from the kubelet's Go types, source named there). An unknown field is a problem: the kubelet
 * only warns about it and carries on with lenient decoding, so a misspelled field is silently
 * ignored on the node. A wrong type is a problem: the kubelet refuses to start. No tool is needed.
 * The image credential provider config is checked the same way (CredentialProviderConfig).
 */
import {
  CREDENTIAL_PROVIDER_CONFIG,
  type FieldType,
  KUBELET_CONFIGURATION,
} from "./kubelet_config_schema.ts";
import type { Verdict } from "./common.ts";

const API_VERSION = "kubelet.config.k8s.io/v1beta1";

/** Go's time.ParseDuration syntax ("0" alone is allowed without a unit). */
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;
/** resource.Quantity's string form: a signed decimal number with an optional suffix. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;
/** metav1.Time: RFC 3339. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint32: [0, 2 ** 32 - 1],
};

function typeName(t: FieldType): string {
  if (typeof t === "string") return t;
  if ("list" in t) return `list of ${typeName(t.list)}`;
  if ("map" in t) return `map of ${typeName(t.map)}`;
  return "object";
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  return typeof v;
}

/** Type problems of `value` against `t` at `path` (JSON null decodes as "unset" everywhere). */
export function checkType(value: unknown, t: FieldType, path: string): string[] {
  if (value === null) return [];
  const wrong = () => [`${path}: want ${typeName(t)}, got ${jsonKind(value)} ${JSON.stringify(value)}`];
  if (typeof t === "string") {
    switch (t) {
      case "string":
        return typeof value === "string" ? [] : wrong();
      case "bool":
        return typeof value === "boolean" ? [] : wrong();
      case "float":
        return typeof value === "number" ? [] : wrong();
      case "int32":
      case "int64":
      case "uint32": {
        const [lo, hi] = RANGES[t];
        return typeof value === "number" && Number.isInteger(value) && value >= lo && value <= hi
          ? []
          : wrong();
      }
      case "duration":
        return typeof value === "string" && GO_DURATION.test(value) ? [] : wrong();
      case "durationOrNanoseconds":
        return (typeof value === "string" && GO_DURATION.test(value)) ||
            (typeof value === "number" && Number.isInteger(value))
          ? []
          : wrong();
      case "quantity":
        return (typeof value === "string" && QUANTITY.test(value)) || typeof value === "number"
          ? []
          : wrong();
      case "time":
        return typeof value === "string" && RFC3339.test(value) ? [] : wrong();
    }
  }
  if ("list" in t) {
    if (!Array.isArray(value)) return wrong();
    return value.flatMap((v, i) => checkType(v, t.list, `${path}[${i}]`));
  }
  if (typeof value !== "object" || Array.isArray(value)) return wrong();
  const obj = value as Record<string, unknown>;
  if ("map" in t) return Object.entries(obj).flatMap(([k, v]) => checkType(v, t.map, `${path}.${k}`));
  return checkStruct(obj, t.struct, path);
}

function checkStruct(
  obj: Record<string, unknown>,
  fields: Record<string, FieldType>,
  path: string,
): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const where = path ? `${path}.${k}` : k;
    const t = fields[k];
    if (!t) {
      const near = Object.keys(fields).find((f) => f.toLowerCase() === k.toLowerCase());
      problems.push(`${where}: unknown field${near ? ` (did you mean ${near}?)` : ""}`);
      continue;
    }
    problems.push(...checkType(v, t, where));
  }
  return problems;
}

/** A kind of kubelet config document: its kind, accepted apiVersions and fields. */
interface DocKind {
  kind: string;
  apiVersions: string[];
  fields: Record<string, FieldType>;
}

const KUBELET: DocKind = {
  kind: "KubeletConfiguration",
  apiVersions: [API_VERSION],
  fields: KUBELET_CONFIGURATION,
};
const CREDENTIAL_PROVIDERS: DocKind = {
  kind: "CredentialProviderConfig",
  apiVersions: [
    "kubelet.config.k8s.io/v1",
    "kubelet.config.k8s.io/v1beta1",
    "kubelet.config.k8s.io/v1alpha1",
  ],
  fields: CREDENTIAL_PROVIDER_CONFIG,
};

function documentProblems(doc: unknown, want: DocKind): string[] {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return ["not a JSON object"];
  const obj = doc as Record<string, unknown>;
  const problems: string[] = [];
  if (!want.apiVersions.includes(String(obj.apiVersion))) {
    problems.push(`apiVersion is ${JSON.stringify(obj.apiVersion)}, want ${want.apiVersions.join(" or ")}`);
  }
  if (obj.kind !== want.kind) problems.push(`kind is ${JSON.stringify(obj.kind)}, want ${want.kind}`);
  problems.push(...checkStruct(obj, want.fields, ""));
  return problems;
}

/** Problems of a parsed KubeletConfiguration document. */
export function kubeletConfigProblems(doc: unknown): string[] {
  return documentProblems(doc, KUBELET);
}

async function validateDocument(file: string, want: DocKind): Promise<Verdict> {
  const verdict: Verdict = { tool: `${want.kind} schema`, subject: file, problems: [], notes: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(await Deno.readTextFile(file));
  } catch (err) {
    verdict.problems.push(`not JSON: ${(err as Error).message}`);
    return verdict;
  }
  verdict.problems.push(...documentProblems(doc, want));
  return verdict;
}

/** Validates one kubelet config file (JSON) against the KubeletConfiguration schema. */
export function validateKubeletConfig(file: string): Promise<Verdict> {
  return validateDocument(file, KUBELET);
}

/** Validates one image credential provider config (JSON) against the CredentialProviderConfig schema. */
export function validateCredentialProviderConfig(file: string): Promise<Verdict> {
  return validateDocument(file, CREDENTIAL_PROVIDERS);
}
