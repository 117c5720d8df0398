/**
 * The one-way structure of the source tree (STYLE.md "Layout"): lib/ knows nothing of EKS, eks/ knows
 * nothing of steps or the CLI, a step never imports another numbered step (what two steps share lives
 * in eks/, lib/ or a helper module beside them), and the module graph has no cycle. Read from the import
 * statements of every source file, static and dynamic.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../", import.meta.url));
/** Top directories of the program and the layer each is; a module may import its own layer or lower. */
const LAYERS: Readonly<Record<string, number>> = { lib: 0, eks: 1, assets: 1, steps: 2, cli: 3 };

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(`${REPO}${dir}`)) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(rel);
    else if (e.isFile && e.name.endsWith(".ts")) yield rel;
  }
}

/** Repository-relative paths of the local modules `file` imports. */
function localImports(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]).filter((s) => s.startsWith("."));
  const base = new URL(`file://${REPO}${file}`);
  return specs.map((s) => fileURLToPath(new URL(s, base)).slice(REPO.length));
}

async function graph(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const top of Object.keys(LAYERS)) {
    for await (const file of sources(top)) {
      out.set(file, localImports(file, await Deno.readTextFile(`${REPO}${file}`)));
    }
  }
  return out;
}

const layerOf = (file: string) => LAYERS[file.split("/")[0]];
const isNumberedStep = (file: string) => /^steps\/(ami|init)\/\d+_[^/]+\.ts$/.test(file);

Deno.test("import graph: lib < eks < steps < cli, no step imports another, no cycle", async () => {
  const g = await graph();
  assert.ok(g.size > 100, `read ${g.size} modules`);
  const upward: string[] = [];
  const stepToStep: string[] = [];
  for (const [file, deps] of g) {
    for (const dep of deps) {
      const to = layerOf(dep);
      if (to !== undefined && to > layerOf(file)) upward.push(`${file} -> ${dep}`);
      if (isNumberedStep(file) && isNumberedStep(dep)) stepToStep.push(`${file} -> ${dep}`);
    }
  }
  assert.deepEqual(upward, [], "imports that go up a layer");
  assert.deepEqual(stepToStep, [], "steps importing other steps");

  // Cycles: depth-first search with colours.
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const dep of g.get(file) ?? []) visit(dep, [...path, file]);
    state.set(file, "done");
  };
  for (const file of g.keys()) visit(file, []);
  assert.deepEqual(cycles, [], "import cycles");
});

Deno.test("import graph: the checks see a step importing a step, and an upward import", () => {
  assert.deepEqual(
    localImports("steps/ami/33_release_file.ts", 'import { X } from "./22_kubelet.ts";\n'),
    ["steps/ami/22_kubelet.ts"],
  );
  assert.ok(isNumberedStep("steps/ami/22_kubelet.ts") && !isNumberedStep("steps/ami/published_note.ts"));
  const up = localImports("lib/x.ts", 'const m = await import("../eks/node_paths.ts");\n');
  assert.deepEqual(up, ["eks/node_paths.ts"]);
  assert.ok(layerOf(up[0]) > layerOf("lib/x.ts"));
});
