/**
 * The text of `eksnode config dump`. yaml is imported statically here, and this module dynamically
 * by cli/config.ts: a bundler converts a CommonJS package's named exports for static imports, while a
 * dynamic `import("yaml")` of it yields only a default export once bundled (build.ts).
 */
import { stringify } from "yaml";
import type { NodeConfigInput } from "../eks/api/nodeconfig.ts";
import { jsonText } from "./output.ts";

/** The merged NodeConfig as YAML or JSON text. */
export function dumpConfig(config: NodeConfigInput, format: "yaml" | "json"): string {
  if (format === "json") return jsonText(config);
  return stringify(config, { lineWidth: 0 }).trimEnd();
}
