/**
 * A file manifest: installed files with their SHA-256 and where each came from. `eksnode ami` writes
 * one (/etc/eks/release.json, key `artifacts`) and `eksnode verify` re-hashes every file it lists.
 */
import * as z from "./zod.ts";
import { sha256File } from "./download.ts";
import { ConfigError } from "./errors.ts";
import type { Host } from "./host.ts";

/** One installed file. */
export interface ManifestFile {
  /** Absolute path inside the root. */
  path: string;
  /** SHA-256 of the file's bytes (64 lowercase hex). */
  sha256: string;
  /** Where it came from: a URL, or a description such as `eksnode 0.1.0`. */
  source: string;
  /** Which artifact it belongs to (`kubelet`, `cniPlugins`, ...). */
  artifact: string;
  /** Its permission bits when the bake left it, in octal (`0755`); absent in manifests before 0.1.0's. */
  mode?: string;
}

const fileSchema = z.object({
  path: z.string().check(z.regex(/^\//, { error: "expected an absolute path" })),
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex characters" })),
  source: z.string(),
  artifact: z.string(),
  mode: z.optional(z.string().check(z.regex(/^[0-7]{4}$/, { error: "expected an octal mode such as 0755" }))),
});
const manifestSchema = z.looseObject({ artifacts: z.array(fileSchema) });

/** Reads the `artifacts` list of a manifest text; anything malformed is a ConfigError naming `where`. */
export function parseManifestFiles(text: string, where: string): ManifestFile[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `${where} is not valid JSON: ${(err as Error).message}`,
      "rebake, or restore it from the image",
    );
  }
  const r = manifestSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ConfigError(`${where}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  return r.data.artifacts;
}

/** A listed file that is missing or whose bytes changed. */
export interface FileProblem {
  path: string;
  artifact: string;
  problem: "missing" | "mismatch";
  expected: string;
  actual?: string;
}

/** Re-hashes every listed file under the host's root; returns the ones missing or changed. */
export async function checkFiles(host: Host, files: ManifestFile[]): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  for (const f of files) {
    const actual = await sha256File(host, f.path, { fresh: true }); // verify trusts nothing remembered
    if (actual === undefined) {
      problems.push({ path: f.path, artifact: f.artifact, problem: "missing", expected: f.sha256 });
    } else if (actual !== f.sha256) {
      problems.push({ path: f.path, artifact: f.artifact, problem: "mismatch", expected: f.sha256, actual });
    }
  }
  return problems;
}
