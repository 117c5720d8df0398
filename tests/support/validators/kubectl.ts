/**
 * kubectl: `kubectl --kubeconfig FILE config view --minify --raw -o json` must parse the kubeconfig
 * and show the current context's cluster with a server. kubectl drops keys it does not know without
 * a word (a misspelled `serverr` leaves the cluster with no server), so every key of the file's
 * current cluster, user and context must come back in kubectl's view with the file's value.
 */
import { parse as parseYaml } from "yaml";
import { dotted, findTool, leaves, lines, lookup, notChecked, runTool, type Verdict } from "./common.ts";

const TOOL = "kubectl config view --minify";

interface Named {
  name?: string;
  [k: string]: unknown;
}

/** The parts of a kubeconfig that `--minify` keeps, with the named lists turned into maps. */
function minified(doc: Record<string, unknown>): Record<string, unknown> {
  const current = doc["current-context"];
  const byName = (key: string, keep?: string) =>
    Object.fromEntries(
      ((doc[key] ?? []) as Named[])
        .filter((e) => keep === undefined || e.name === keep)
        .map((e) => [String(e.name), e]),
    );
  const contexts = byName("contexts", String(current));
  const ctx = (Object.values(contexts)[0]?.context ?? {}) as { cluster?: string; user?: string };
  return {
    "current-context": current,
    contexts,
    clusters: byName("clusters", ctx.cluster),
    users: byName("users", ctx.user),
  };
}

/** Validates one kubeconfig with this machine's kubectl. */
export async function validateKubeconfig(file: string): Promise<Verdict> {
  const kubectl = findTool("kubectl");
  if (!kubectl) return notChecked(TOOL, file, "kubectl");
  const verdict: Verdict = { tool: TOOL, subject: file, problems: [], notes: [] };
  let ours: Record<string, unknown>;
  try {
    ours = parseYaml(await Deno.readTextFile(file)) as Record<string, unknown>;
  } catch (err) {
    verdict.problems.push(`not YAML: ${(err as Error).message.split("\n")[0]}`);
    return verdict;
  }
  const r = await runTool([
    kubectl,
    "--kubeconfig",
    file,
    "config",
    "view",
    "--minify",
    "--raw",
    "-o",
    "json",
  ]);
  if (r.code !== 0) {
    verdict.problems.push(`kubectl rejects it: ${lines(r.stderr).join(" | ")}`);
    return verdict;
  }
  const view = minified(JSON.parse(r.stdout));
  const servers = Object.values(view.clusters as Record<string, { cluster?: { server?: string } }>)
    .map((c) => c.cluster?.server ?? "");
  if (servers.length !== 1 || !servers[0]) {
    verdict.problems.push(
      `kubectl shows no cluster server for the current context (${JSON.stringify(servers)})`,
    );
  }
  for (const leaf of leaves(minified(ours))) {
    const got = lookup(view, leaf.path);
    if (!got.found) {
      verdict.problems.push(`${dotted(leaf.path)} is not in kubectl's view: kubectl does not know this key`);
    } else if (JSON.stringify(got.value) !== JSON.stringify(leaf.value)) {
      verdict.problems.push(
        `${dotted(leaf.path)} = ${JSON.stringify(leaf.value)} in the file, ${
          JSON.stringify(got.value)
        } in kubectl's view`,
      );
    }
  }
  return verdict;
}
