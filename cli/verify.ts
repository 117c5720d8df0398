/** `eksnode verify [--root DIR]`: re-hashes every file listed in /etc/eks/release.json; exit 5 on any difference. */
import { openExistingRoot } from "./global_flags.ts";
import { Command } from "@commander-js/extra-typings";
import { RELEASE_JSON_PATH } from "../eks/node_paths.ts";
import { ChecksumError, ConfigError } from "../lib/errors.ts";

/** Options of `eksnode verify`. */
export interface VerifyOptions {
  root: string;
}

/**
 * Checks the installed files against the manifest; prints one line per problem (and a summary) and
 * throws a ChecksumError (exit code 5) when any file is missing or differs.
 */
export async function runVerify(
  opts: VerifyOptions,
  print: (line: string) => void = console.log,
): Promise<number> {
  const { checkFiles, parseManifestFiles } = await import("../lib/manifest.ts");
  const host = await openExistingRoot(opts.root);
  const text = await host.readText(RELEASE_JSON_PATH);
  if (text === undefined) {
    throw new ConfigError(
      `${RELEASE_JSON_PATH} not found under ${host.root}`,
      "it is written by `eksnode ami` (step 33); verify checks an image baked by eksnode",
    );
  }
  const files = parseManifestFiles(text, RELEASE_JSON_PATH);
  const problems = await checkFiles(host, files);
  for (const p of problems) {
    print(
      p.problem === "missing"
        ? `MISSING  ${p.path} (${p.artifact}): expected sha256 ${p.expected}`
        : `MISMATCH ${p.path} (${p.artifact}): expected sha256 ${p.expected}, found ${p.actual}`,
    );
  }
  if (problems.length) {
    throw new ChecksumError(
      `${problems.length} of ${files.length} files listed in ${RELEASE_JSON_PATH} are missing or changed`,
      "the image was modified after it was baked: rebake it, or find out what replaced these files",
    );
  }
  print(`ok: ${files.length} files match ${RELEASE_JSON_PATH}`);
  return files.length;
}

/** The `verify` command. */
export function verifyCommand() {
  return new Command("verify")
    .description(`re-hash every file listed in ${RELEASE_JSON_PATH}; exit 5 when one is missing or differs`)
    .option("--root <dir>", "check the image under DIR", "/")
    .action(async (opts) => {
      await runVerify(opts);
    });
}
