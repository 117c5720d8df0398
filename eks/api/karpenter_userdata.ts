/**
 * Pulls `spec.userData` out of Karpenter EC2NodeClass manifests (API `karpenter.k8s.aws/v1`,
 * karpenter.sh/docs/concepts/nodeclasses, read 2025), so the user data Karpenter would hand to
 * an instance can be checked with `parseUserData` before any node boots.
 */
import { parseAllDocuments } from "yaml";
import { ConfigError } from "../../lib/errors.ts";
import { linePosition } from "./userdata.ts";

/** The user data of one EC2NodeClass. */
export interface NodeClassUserData {
  /** `metadata.name` of the EC2NodeClass. */
  name: string;
  /** `spec.userData` as UTF-8 bytes, ready for `parseUserData`. */
  userData: Uint8Array;
}

/**
 * Returns the `spec.userData` of every EC2NodeClass in a YAML stream (classes without user data
 * are left out); `origin` names the manifest in errors.
 */
export function ec2NodeClassUserData(manifest: string, origin: string): NodeClassUserData[] {
  const out: NodeClassUserData[] = [];
  for (const [i, doc] of parseAllDocuments(manifest, { prettyErrors: false }).entries()) {
    const err = doc.errors[0];
    if (err) {
      throw new ConfigError(
        `invalid YAML in ${origin} at ${linePosition(manifest, err.pos[0])}: ${err.message.split("\n")[0]}`,
      );
    }
    const value = doc.toJS() as unknown;
    if (!isRecord(value) || value.kind !== "EC2NodeClass") continue;
    if (typeof value.apiVersion !== "string" || !value.apiVersion.startsWith("karpenter.k8s.aws/")) continue;
    const name = isRecord(value.metadata) && typeof value.metadata.name === "string"
      ? value.metadata.name
      : `#${i + 1}`;
    const spec = isRecord(value.spec) ? value.spec : {};
    if (spec.userData === undefined || spec.userData === null) continue;
    if (typeof spec.userData !== "string") {
      throw new ConfigError(
        `EC2NodeClass ${name} in ${origin}: spec.userData must be a string`,
        "use a YAML block scalar: userData: |",
      );
    }
    out.push({ name, userData: new TextEncoder().encode(spec.userData) });
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
