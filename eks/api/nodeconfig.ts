/**
 * The NodeConfig API (`node.eks.aws/v1alpha1`, kind `NodeConfig`) that nodeadm reads, as a zod
 * schema. Fields follow awslabs/amazon-eks-ami nodeadm/api/v1alpha1/nodeconfig_types.go and
 * nodeadm/doc/api.md at commit 81fec2e8 (every field of that version); required fields follow
 * nodeadm/internal/api/validation.go (same commit).
 *
 * Each document in user data is a *part*: every field optional. As nodeadm's decoder is not strict, a
 * field it does not know never stops a node: {@link parseNodeConfigDocumentDetailed} drops unknown fields
 * and names them (init warns, `config check --strict` fails). Values of known fields are checked (a bad
 * value is an error, as in nodeadm where it fails to decode, or where it would reach a file unquoted), except
 * where nodeadm itself lets it through: `instance.localStorage` is first read as nodeadm reads it (any case of
 * strategy, unknown disabledMounts skipped with a warning: values.ts normalizeLocalStorage).
 * After the parts are merged, {@link validateNodeConfig} checks the fields nodeadm requires and
 * {@link nodeConfigWarnings} lists what nodeadm accepts but is probably a mistake.
 *
 * One eksnode extension: `spec.instance.environment` may still be eksnode's old flat map of variables
 * (eks/system/environment.ts reads it as the kubelet and containerd environment, with a warning).
 */
import * as z from "../../lib/zod.ts";
import { parse as parseToml } from "smol-toml";
import { ConfigError } from "../../lib/errors.ts";
import { FEATURE_GATES, unknownFeatureGates } from "./feature_gates.ts";
import { normalizeEnvironment } from "../system/environment.ts";
import {
  apiServerEndpointProblem,
  apiServerEndpointWarning,
  certificateAuthorityContentProblem,
  certificateAuthorityEncodingProblem,
  CLUSTER_ID,
  CLUSTER_ID_PROBLEM,
  CLUSTER_NAME,
  CONTROL_CHARACTER_PROBLEM,
  DISABLED_MOUNTS,
  ENV_NAME,
  ENV_SERVICE,
  isCidr,
  LOCAL_STORAGE_STRATEGIES,
  mountDirProblem,
  noControlCharacters,
  NODECONFIG_API_VERSION,
  NODECONFIG_DOCS,
  NODECONFIG_KIND,
  normalizeLocalStorage,
} from "./values.ts";

const freeForm = z.record(z.string(), z.unknown());

/** A string schema whose value `problem` describes (undefined when fine), as one custom issue. */
function checkedString(problem: (v: string) => string | undefined) {
  return z.string().check(z.superRefine((v, ctx) => {
    const found = problem(v);
    if (found) ctx.addIssue({ code: "custom", message: found });
  }));
}

const clusterSchema = z.strictObject({
  name: z.optional(
    z.string().check(z.regex(CLUSTER_NAME, {
      error:
        "must be an EKS cluster name: 1-100 letters, digits, '-' or '_', starting with a letter or digit",
    })),
  ),
  apiServerEndpoint: z.optional(checkedString(apiServerEndpointProblem)),
  certificateAuthority: z.optional(checkedString(certificateAuthorityEncodingProblem)),
  cidr: z.optional(
    z.string().check(z.refine(isCidr, {
      error: "must be the cluster's service CIDR block, e.g. 10.100.0.0/16 or fd00:1234::/108",
    })),
  ),
  enableOutpost: z.optional(z.boolean()),
  id: z.optional(z.string().check(z.regex(CLUSTER_ID, { error: CLUSTER_ID_PROBLEM }))),
});

const kubeletSchema = z.strictObject({
  config: z.optional(freeForm),
  flags: z.optional(z.array(
    z.string().check(
      z.minLength(1, { error: "must not be empty" }),
      z.refine(noControlCharacters, { error: CONTROL_CHARACTER_PROBLEM }),
    ),
  )),
  maxPodsExpression: z.optional(
    z.string().check(z.refine(noControlCharacters, { error: CONTROL_CHARACTER_PROBLEM })),
  ),
});

const containerdSchema = z.strictObject({
  config: z.optional(checkedString((v) => {
    try {
      parseToml(v);
      return undefined;
    } catch (err) {
      return `is not valid TOML: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`;
    }
  })),
  baseRuntimeSpec: z.optional(freeForm),
});

const localStorageSchema = z.strictObject({
  strategy: z.optional(z.enum(LOCAL_STORAGE_STRATEGIES, {
    error: `must be one of ${LOCAL_STORAGE_STRATEGIES.join(", ")} (in any case)`,
  })),
  mountPath: z.optional(checkedString(mountDirProblem)),
  disabledMounts: z.optional(
    z.array(z.enum(DISABLED_MOUNTS, { error: `must be one of ${DISABLED_MOUNTS.join(", ")}` })),
  ),
});

/** A name server or search domain: one word of a resolved.conf line. */
const resolvedWord = z.string().check(
  z.minLength(1, { error: "must not be empty" }),
  z.regex(/^[^\s]+$/, { error: "must be one word: no spaces or control characters" }),
  z.refine(noControlCharacters, { error: CONTROL_CHARACTER_PROBLEM }),
);

const networkSchema = z.strictObject({
  nameservers: z.optional(z.array(resolvedWord)),
  domains: z.optional(z.array(resolvedWord)),
});

const environmentSchema = z.record(
  z.string().check(z.regex(ENV_SERVICE, {
    error: "environment keys are `default` or a systemd service name (letters, digits, : _ @ . -)",
  })),
  z.record(
    z.string().check(z.regex(ENV_NAME, { error: "environment variable names are letters, digits and _" })),
    z.string().check(z.refine(noControlCharacters, { error: CONTROL_CHARACTER_PROBLEM })),
    { error: "must be a map of VARIABLE: value (environment.SERVICE.VARIABLE, SERVICE `default` for all)" },
  ),
);

const instanceSchema = z.strictObject({
  localStorage: z.optional(localStorageSchema),
  environment: z.optional(environmentSchema),
  network: z.optional(networkSchema),
});

const specSchema = z.strictObject({
  cluster: z.optional(clusterSchema),
  containerd: z.optional(containerdSchema),
  instance: z.optional(instanceSchema),
  kubelet: z.optional(kubeletSchema),
  featureGates: z.optional(z.record(z.string(), z.boolean())),
});

/** Schema of one NodeConfig document as found in user data or a file (all spec fields optional). */
export const nodeConfigPartSchema = z.strictObject({
  apiVersion: z.literal(NODECONFIG_API_VERSION, { error: `must be ${NODECONFIG_API_VERSION}` }),
  kind: z.literal(NODECONFIG_KIND, { error: `must be ${NODECONFIG_KIND}` }),
  metadata: z.optional(freeForm),
  spec: z.optional(specSchema),
});

/** One NodeConfig document, validated field by field but possibly incomplete. */
export type NodeConfigInput = z.infer<typeof nodeConfigPartSchema>;
/** `spec` of a NodeConfig. */
export type NodeConfigSpec = z.infer<typeof specSchema>;
/** `spec.cluster` of a NodeConfig. */
export type ClusterDetails = z.infer<typeof clusterSchema>;
/** `spec.kubelet` of a NodeConfig. */
export type KubeletOptions = z.infer<typeof kubeletSchema>;
/** `spec.instance` of a NodeConfig. */
export type InstanceOptions = z.infer<typeof instanceSchema>;
/** A `spec.instance.localStorage.strategy` value. */
export type LocalStorageStrategy = (typeof LOCAL_STORAGE_STRATEGIES)[number];

/** A merged NodeConfig that has everything nodeadm requires to join a cluster. */
export type NodeConfig = NodeConfigInput & {
  spec: NodeConfigSpec & {
    cluster: ClusterDetails & {
      name: string;
      apiServerEndpoint: string;
      certificateAuthority: string;
      cidr: string;
    };
  };
};

/** True when a decoded YAML/JSON document claims to be a NodeConfig (by apiVersion group or kind). */
export function isNodeConfigDocument(doc: unknown): boolean {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return false;
  const { apiVersion, kind } = doc as Record<string, unknown>;
  return (typeof apiVersion === "string" && apiVersion.startsWith("node.eks.aws/")) ||
    kind === NODECONFIG_KIND;
}

/** One parsed NodeConfig document and what was not taken from it. */
export interface ParsedNodeConfig {
  config: NodeConfigInput;
  /** Paths of fields NodeConfig does not have (e.g. `spec.cluster.nmae`), dropped; each with a hint. */
  unknownFields: UnknownField[];
  /** What was read but deserves a word (eksnode's old environment form). */
  warnings: string[];
}

/** A field NodeConfig does not have. */
export interface UnknownField {
  /** Its path, e.g. `spec.kubelet.flagz`. */
  path: string;
  /** The fields known at that level, for a "did you mean". */
  known: string[];
}

/**
 * Validates one decoded document as a NodeConfig part; `origin` names where it came from
 * (e.g. `user data part 2 (application/node.eks.aws)`). Unknown fields are dropped and reported; any
 * other problem throws one {@link ConfigError} listing every problem with its field path.
 */
export function parseNodeConfigDocumentDetailed(doc: unknown, origin: string): ParsedNodeConfig {
  const warnings: string[] = [];
  let input = doc;
  const env = (doc as { spec?: { instance?: { environment?: unknown } } } | null)?.spec?.instance
    ?.environment;
  if (env !== undefined) {
    const normalized = normalizeEnvironment(env);
    if (normalized.warning) {
      warnings.push(normalized.warning);
      input = structuredClone(doc) as Record<string, unknown>;
      (input as { spec: { instance: { environment: unknown } } }).spec.instance.environment =
        normalized.value;
    }
  }
  const localStorage = (input as { spec?: { instance?: { localStorage?: unknown } } } | null)?.spec?.instance
    ?.localStorage;
  if (localStorage !== undefined) {
    const normalized = normalizeLocalStorage(localStorage);
    warnings.push(...normalized.warnings);
    if (input === doc) input = structuredClone(doc);
    (input as { spec: { instance: { localStorage: unknown } } }).spec.instance.localStorage =
      normalized.value;
  }
  const unknownFields: UnknownField[] = [];
  // Each pass drops the unknown keys zod reported; nested ones go with their parent, so two passes
  // normally do (a third guards against a schema that reports them level by level).
  for (let pass = 0; pass < 8; pass++) {
    const result = nodeConfigPartSchema.safeParse(input);
    if (result.success) return { config: result.data, unknownFields, warnings };
    const unknown = result.error.issues.filter((i) => i.code === "unrecognized_keys");
    const others = result.error.issues.filter((i) => i.code !== "unrecognized_keys");
    if (others.length > 0 || unknown.length === 0) {
      throw new ConfigError(
        `invalid NodeConfig in ${origin}: ${others.map(describeIssue).join("; ")}`,
        `NodeConfig fields are listed at ${NODECONFIG_DOCS}`,
      );
    }
    if (input === doc) input = structuredClone(doc);
    for (const issue of unknown) {
      const where = formatPath(issue.path);
      const holder = valueAt(input, issue.path) as Record<string, unknown>;
      for (const key of issue.keys) {
        unknownFields.push({ path: where === "" ? key : `${where}.${key}`, known: knownKeys(issue.path) });
        delete holder[key];
      }
    }
  }
  throw new ConfigError(`invalid NodeConfig in ${origin}: too many unknown fields`);
}

/**
 * Validates one decoded document as a NodeConfig part and returns it; unknown fields are dropped (use
 * {@link parseNodeConfigDocumentDetailed} to learn which).
 */
export function parseNodeConfigDocument(doc: unknown, origin: string): NodeConfigInput {
  return parseNodeConfigDocumentDetailed(doc, origin).config;
}

/** "unknown field spec.x (known fields: a, b)": how init and `config check` name an unknown field. */
export function describeUnknownField(f: UnknownField): string {
  return `unknown field ${f.path}` + (f.known.length ? ` (known fields: ${f.known.join(", ")})` : "");
}

/**
 * What a merged NodeConfig holds that nodeadm accepts but is probably a mistake: a plain-http endpoint, a
 * CA that is not a PEM certificate, feature gates nodeadm does not know.
 */
export function nodeConfigWarnings(config: NodeConfigInput): string[] {
  const out: string[] = [];
  const cluster = config.spec?.cluster ?? {};
  const http = cluster.apiServerEndpoint ? apiServerEndpointWarning(cluster.apiServerEndpoint) : undefined;
  if (http) out.push(`spec.cluster.apiServerEndpoint ${http}`);
  const ca = cluster.certificateAuthority
    ? certificateAuthorityContentProblem(cluster.certificateAuthority)
    : undefined;
  if (ca) out.push(`spec.cluster.certificateAuthority ${ca}: kubelet will not trust the API server`);
  for (const gate of unknownFeatureGates(config.spec?.featureGates)) {
    out.push(
      `spec.featureGates.${gate}: unknown feature gate, it has no effect (known: ${
        Object.keys(FEATURE_GATES).join(", ")
      })`,
    );
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) v = (v as Record<PropertyKey, unknown>)[k];
  return v;
}

/**
 * Checks that a merged NodeConfig has the cluster details nodeadm requires (name,
 * apiServerEndpoint, certificateAuthority, cidr; id when enableOutpost is true) and returns it typed.
 */
export function validateNodeConfig(config: NodeConfigInput, origin: string): NodeConfig {
  const cluster = config.spec?.cluster ?? {};
  const missing: string[] = (["name", "apiServerEndpoint", "certificateAuthority", "cidr"] as const)
    .filter((k) => !cluster[k]);
  const outpostWithoutId = cluster.enableOutpost === true && !cluster.id;
  if (outpostWithoutId) missing.push("id");
  if (missing.length > 0) {
    const fields = missing.map((k) => `spec.cluster.${k}`).join(", ");
    throw new ConfigError(
      `incomplete NodeConfig from ${origin}: missing ${fields}` +
        (outpostWithoutId ? " (id is required when enableOutpost is true)" : ""),
      "set them in a NodeConfig part (values come from `aws eks describe-cluster`)",
    );
  }
  return config as NodeConfig;
}

/** Formats a field path like `spec.kubelet.flags[0]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  // A bad record key: its own check's message says what keys may be.
  const inner = issue.code === "invalid_key" ? issue.issues[0]?.message : undefined;
  const message = (inner ?? issue.message).replace(/^Invalid input: /, "");
  if (where === "") return `document: ${message}`;
  return `${where}: ${message}`;
}

/** The field names a strict object at `path` knows, for "unknown field" messages. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodMiniType = nodeConfigPartSchema;
  for (const key of path) {
    schema = unwrapOptional(schema);
    if (!(schema instanceof z.ZodMiniObject)) return [];
    const next = (schema.shape as Record<string, z.ZodMiniType>)[String(key)];
    if (!next) return [];
    schema = next;
  }
  schema = unwrapOptional(schema);
  return schema instanceof z.ZodMiniObject ? Object.keys(schema.shape) : [];
}

function unwrapOptional(schema: z.ZodMiniType): z.ZodMiniType {
  return schema instanceof z.ZodMiniOptional ? schema.def.innerType as z.ZodMiniType : schema;
}
