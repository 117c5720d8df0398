/**
 * The program's import graph, as Deno resolves it (`deno info --json` from both entries), points one way:
 * cli → steps → eks → lib, with assets/ (data, and the typed reader of versions.json) below eks and above
 * lib. No module imports a layer above its own, a numbered step imports no other numbered step, and no
 * import closes a cycle. Type-only imports count: they tie the modules together just the same.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const ENTRIES = ["main.ts", "cli/bundle_main.ts", "cli/program.ts"];

/** Layers from the top (0) down; a module may import its own layer or any below it. */
const LAYERS: { name: string; match: (path: string) => boolean }[] = [
  { name: "cli", match: (p) => p === "main.ts" || p.startsWith("cli/") },
  { name: "steps", match: (p) => p.startsWith("steps/") },
  { name: "eks", match: (p) => p.startsWith("eks/") },
  { name: "assets", match: (p) => p.startsWith("assets/") },
  { name: "lib", match: (p) => p.startsWith("lib/") },
];

/** The layer of a repository path, or -1 for a file outside the layers (deno.json). */
export function layerOf(path: string): number {
  return LAYERS.findIndex((l) => l.match(path));
}

/** A numbered step file (steps/ami/22_kubelet.ts). */
function isNumberedStep(path: string): boolean {
  return /^steps\/[a-z]+\/\d+_[^/]+\.ts$/.test(path);
}

/** Local import edges (importer → imported), repository-relative, from `deno info --json` output. */
export function localEdges(
  info: { modules: { specifier: string; dependencies?: unknown[] }[] },
  root: string,
) {
  const base = new URL(`file://${root.endsWith("/") ? root : `${root}/`}`).href;
  const edges: [string, string][] = [];
  for (const m of info.modules) {
    if (!m.specifier.startsWith(base)) continue;
    const from = m.specifier.slice(base.length);
    for (
      const dep of (m.dependencies ?? []) as {
        code?: { specifier?: string };
        type?: { specifier?: string };
      }[]
    ) {
      for (const to of [dep.code?.specifier, dep.type?.specifier]) {
        if (to?.startsWith(base)) edges.push([from, to.slice(base.length)]);
      }
    }
  }
  return edges;
}

/** Edges that break the layering: an import upwards, or a numbered step importing another one. */
export function layerViolations(edges: [string, string][]): string[] {
  const out: string[] = [];
  for (const [from, to] of edges) {
    const a = layerOf(from), b = layerOf(to);
    if (a >= 0 && b >= 0 && b < a) out.push(`${from} imports ${to} (${LAYERS[a].name} → ${LAYERS[b].name})`);
    if (isNumberedStep(from) && isNumberedStep(to)) out.push(`${from} imports another step, ${to}`);
  }
  return [...new Set(out)].sort();
}

/** Every cycle's members (strongly connected components of more than one module, or a self-import). */
export function cycles(edges: [string, string][]): string[][] {
  const next = new Map<string, string[]>();
  for (const [a, b] of edges) next.set(a, [...(next.get(a) ?? []), b]);
  // Tarjan's algorithm, iterative enough for a graph of a few hundred modules.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [], out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index), low.set(v, index++), stack.push(v), onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do (w = stack.pop()!, onStack.delete(w), scc.push(w)); while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of new Set(edges.flat())) if (!idx.has(v)) visit(v);
  return out;
}

async function programEdges(): Promise<[string, string][]> {
  const edges: [string, string][] = [];
  for (const entry of ENTRIES) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    edges.push(...localEdges(JSON.parse(new TextDecoder().decode(out.stdout)), REPO));
  }
  return edges;
}

Deno.test("imports point one way (cli → steps → eks → assets → lib), steps import no other step, no cycles", async () => {
  const edges = await programEdges();
  assert.ok(
    edges.length > 200,
    `only ${edges.length} local imports found: is deno info's output understood?`,
  );
  assert.deepEqual(layerViolations(edges), [], "imports against the layering");
  assert.deepEqual(cycles(edges), [], "import cycles");
});

Deno.test("the graph checks catch an upward import, a step-to-step import and a cycle", () => {
  const edges: [string, string][] = [
    ["eks/a.ts", "steps/init/context.ts"],
    ["steps/ami/33_release_file.ts", "steps/ami/22_kubelet.ts"],
    ["steps/ami/22_kubelet.ts", "steps/ami/context.ts"],
    ["lib/host.ts", "lib/step.ts"],
    ["lib/step.ts", "lib/download.ts"],
    ["lib/download.ts", "lib/host.ts"],
    ["cli/ami.ts", "lib/host.ts"],
  ];
  assert.deepEqual(layerViolations(edges), [
    "eks/a.ts imports steps/init/context.ts (eks → steps)",
    "steps/ami/33_release_file.ts imports another step, steps/ami/22_kubelet.ts",
  ]);
  assert.deepEqual(cycles(edges), [["lib/download.ts", "lib/host.ts", "lib/step.ts"]]);
});
