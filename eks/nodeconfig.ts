/**
 * The NodeConfig API (`node.eks.aws/v1alpha1`, kind `NodeConfig`) that nodeadm reads, as a zod
 * schema. Field names follow awslabs/amazon-eks-ami nodeadm/api/v1alpha1/nodeconfig_types.go
 * (commit 01348c0d8f3df38a72f13fc37f51c1c64a672f4c) and nodeadm/doc/api.md; required fields follow
 * nodeadm/internal/api/validation.go (commit b03bc804bc16828efdaba4a68221f3e38c88424e).
 * One eksnode extension: `spec.instance.environment` (not in nodeadm).
 *
 * Each document in user data is a *part*: every field optional, unknown fields rejected except
 * inside the free-form `kubelet.config`, `containerd.baseRuntimeSpec` and `metadata`. After the
 * parts are merged, {@link validateNodeConfig} checks the fields nodeadm requires.
 */
import * as z from "../lib/zod.ts";
import { parse as parseToml } from "smol-toml";
import { ConfigError } from "../lib/errors.ts";
import {
  apiServerEndpointProblem,
  certificateAuthorityProblem,
  CLUSTER_ID,
  CLUSTER_ID_PROBLEM,
  CLUSTER_NAME,
  CONTROL_CHARACTER_PROBLEM,
  DISABLED_MOUNTS,
  ENV_NAME,
  isCidr,
  LOCAL_STORAGE_STRATEGIES,
  mountDirProblem,
  noControlCharacters,
  NODECONFIG_API_VERSION,
  NODECONFIG_DOCS,
  NODECONFIG_KIND,
} from "./nodeconfig_values.ts";

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
  certificateAuthority: z.optional(checkedString(certificateAuthorityProblem)),
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
    error: `must be one of ${LOCAL_STORAGE_STRATEGIES.join(", ")}`,
  })),
  mountPath: z.optional(checkedString(mountDirProblem)),
  disabledMounts: z.optional(
    z.array(z.enum(DISABLED_MOUNTS, { error: `must be one of ${DISABLED_MOUNTS.join(", ")}` })),
  ),
});

const instanceSchema = z.strictObject({
  localStorage: z.optional(localStorageSchema),
  environment: z.optional(z.record(
    z.string().check(z.regex(ENV_NAME, { error: "environment variable names are letters, digits and _" })),
    z.string().check(z.refine(noControlCharacters, { error: CONTROL_CHARACTER_PROBLEM })),
  )),
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

/**
 * Validates one decoded document as a NodeConfig part; `origin` names where it came from
 * (e.g. `user data part 2 (application/node.eks.aws)`). Throws one {@link ConfigError} listing
 * every problem with its field path.
 */
export function parseNodeConfigDocument(doc: unknown, origin: string): NodeConfigInput {
  const result = nodeConfigPartSchema.safeParse(doc);
  if (result.success) return result.data;
  const problems = result.error.issues.map(describeIssue);
  throw new ConfigError(
    `invalid NodeConfig in ${origin}: ${problems.join("; ")}`,
    `NodeConfig fields are listed at ${NODECONFIG_DOCS}`,
  );
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
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(issue.path);
    return issue.keys.map((k) => {
      const full = where === "" ? k : `${where}.${k}`;
      return `${full}: unknown field` + (known.length ? ` (known fields: ${known.join(", ")})` : "");
    }).join("; ");
  }
  const message = issue.message.replace(/^Invalid input: /, "");
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
