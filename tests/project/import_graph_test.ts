/**
 * The one-way structure of the source tree (STYLE.md "Layout"): lib/ knows nothing of EKS, eks/ knows
 * nothing of steps or the CLI, a step never imports another numbered step (what two steps share lives
 * in eks/, lib/ or a helper module beside them), and the module graph has no cycle. Read from the import
 * statements of every source file, static and dynamic.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Top directories of the program and the layer each is; a module may import its own layer or lower. */
const LAYERS: Readonly<Record<string, number>> = { lib: 0, eks: 1, assets: 1, steps: 2, cli: 3 };

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(`${REPO}${dir}`)) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(rel);
    else if (e.isFile && e.name.endsWith(".ts")) yield rel;
  }
}

/**
 * The real module graph, as Deno resolves it (`deno info --json`, static, dynamic and type-only imports):
 * for every source file of the program, the repository-relative paths of the local modules it imports.
 * One root imports every source file, so modules no entry point reaches are read too. `tops` are the
 * directories read (the program's layers by default).
 */
async function graph(tops: readonly string[] = Object.keys(LAYERS)): Promise<Map<string, string[]>> {
  const files: string[] = [];
  for (const top of tops) for await (const file of sources(top)) files.push(file);
  const root = await Deno.makeTempFile({ prefix: "eksnode-graph-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(root, files.map((f) => `import "file://${REPO}${f}";\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", `${REPO}deno.json`, root],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const local = (url: string) =>
      url.startsWith(`file://${REPO}`) ? url.slice(`file://${REPO}`.length) : undefined;
    const g = new Map<string, string[]>();
    for (const m of info.modules) {
      const file = local(m.specifier);
      if (file === undefined || !files.includes(file)) continue;
      const deps = (m.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .map((u) => u && local(u)).filter((u): u is string => u !== undefined);
      g.set(file, [...new Set(deps)]);
    }
    assert.deepEqual(files.filter((f) => !g.has(f)), [], "source files deno info did not report");
    return g;
  } finally {
    await Deno.remove(root);
  }
}

/** Rule checks on a graph: imports that go up a layer, numbered steps importing numbered steps. */
function violations(
  g: Map<string, string[]>,
): { upward: string[]; stepToStep: string[]; outside: string[] } {
  const outside: string[] = [];
  const upward: string[] = [];
  const stepToStep: string[] = [];
  for (const [file, deps] of g) {
    for (const dep of deps) {
      const to = layerOf(dep);
      // The program imports only the program (and deno.json, for its version): never tests/, fakes/,
      // tools/ or bench/.
      if (to === undefined && dep.includes("/")) outside.push(`${file} -> ${dep}`);
      else if (to !== undefined && to > layerOf(file)) upward.push(`${file} -> ${dep}`);
      if (isNumberedStep(file) && isNumberedStep(dep)) stepToStep.push(`${file} -> ${dep}`);
    }
  }
  return { upward, stepToStep, outside };
}

const layerOf = (file: string) => LAYERS[file.split("/")[0]];
const isNumberedStep = (file: string) => /^steps\/(ami|init)\/\d+_[^/]+\.ts$/.test(file);

Deno.test("import graph (deno info): lib < eks < steps < cli, no step imports another, no cycle", async () => {
  const g = await graph();
  assert.ok(g.size > 100, `read ${g.size} modules`);
  const { upward, stepToStep, outside } = violations(g);
  assert.deepEqual(outside, [], "program modules importing test or tool code");
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
  const g = new Map([
    ["steps/ami/33_release_file.ts", ["steps/ami/22_kubelet.ts", "steps/ami/published_note.ts"]],
    ["lib/x.ts", ["eks/paths/node.ts"]],
    ["eks/y.ts", ["lib/z.ts"]],
    ["cli/demo.ts", ["fakes/imds.ts", "eks/y.ts"]],
  ]);
  assert.deepEqual(violations(g), {
    upward: ["lib/x.ts -> eks/paths/node.ts"],
    stepToStep: ["steps/ami/33_release_file.ts -> steps/ami/22_kubelet.ts"],
    outside: ["cli/demo.ts -> fakes/imds.ts"],
  });
});

/** Imports of tools/, bench/ and fakes/ that reach into tests/ (fakes/ is where they find the fakes). */
function intoTests(g: Map<string, string[]>): string[] {
  return [...g].flatMap(([file, deps]) =>
    deps.filter((d) => d.startsWith("tests/")).map((d) => `${file} -> ${d}`)
  );
}

Deno.test("import graph (deno info): the demo, the benchmarks and the fakes never import tests/", async () => {
  const g = await graph(["tools", "bench", "fakes"]);
  assert.ok([...g.keys()].some((f) => f.startsWith("fakes/")), "the fakes were read");
  assert.deepEqual(intoTests(g), [], "tools, bench or fakes importing tests/");
  assert.deepEqual(
    intoTests(new Map([["tools/demo.ts", ["fakes/imds.ts", "tests/support/helpers.ts"]]])),
    ["tools/demo.ts -> tests/support/helpers.ts"],
  );
});
