/**
 * docs/nodeconfig.md's field table against the code it describes: a row for every field of the NodeConfig
 * schema and every feature gate, no row for a field the schema does not have, and every file the table says
 * init writes is a path eksnode declares.
 */
import assert from "node:assert/strict";
import { nodeConfigPartSchema } from "../../../eks/api/nodeconfig.ts";
import { FEATURE_GATES } from "../../../eks/api/feature_gates.ts";
import * as nodePaths from "../../../eks/paths/node.ts";
import { HOSTS_FILE } from "../../../eks/system/api_server_hosts.ts";

const DOC = new URL("../../../docs/nodeconfig.md", import.meta.url);

/** The table's rows under "## Fields": first cell (field names) and last cell (files). */
async function fieldRows(): Promise<{ names: string[]; files: string[] }[]> {
  const text = await Deno.readTextFile(DOC);
  const section = text.slice(text.indexOf("## Fields"));
  const lines = section.split("\n").filter((l) => l.startsWith("|")).slice(2);
  const end = section.split("\n").findIndex((l, i) => i > 0 && l.startsWith("## "));
  assert.ok(end > 0, "docs/nodeconfig.md: a section after ## Fields");
  const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  return lines.map((l) => {
    const cells = l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    return {
      names: ticked(cells[0]),
      files: ticked(cells[cells.length - 1]).filter((f) => f.startsWith("/")),
    };
  });
}

/** Leaf field paths of a zod (mini) object schema, `spec.` dropped as the table drops it. */
function schemaFields(): string[] {
  type Def = {
    type: string;
    shape?: Record<string, { _zod: { def: Def } }>;
    innerType?: { _zod: { def: Def } };
  };
  const out: string[] = [];
  const walk = (def: Def, path: string) => {
    if (def.type === "optional") return walk(def.innerType!._zod.def, path);
    if (def.type === "object" && def.shape) {
      for (const [k, v] of Object.entries(def.shape)) walk(v._zod.def, path ? `${path}.${k}` : k);
      return;
    }
    out.push(path.replace(/^spec\./, ""));
  };
  walk((nodeConfigPartSchema as unknown as { _zod: { def: Def } })._zod.def, "");
  return out;
}

Deno.test("docs/nodeconfig.md: a row for every NodeConfig field and feature gate, and none for anything else", async () => {
  const rows = await fieldRows();
  const named = rows.flatMap((r) => r.names).map((n) => n.replace(/^spec\./, ""));
  const fields = schemaFields();
  assert.ok(fields.length >= 20, `the schema walk found ${fields.length} fields: ${fields.join(", ")}`);
  for (const field of fields) {
    // A row names the field, a group it belongs to (`instance.localStorage`), or a key of its map
    // (`instance.environment.default`).
    const covered = named.some((n) => n === field || field.startsWith(`${n}.`) || n.startsWith(`${field}.`));
    assert.ok(covered, `docs/nodeconfig.md has no row for ${field}`);
  }
  for (const gate of Object.keys(FEATURE_GATES)) {
    assert.ok(
      named.includes(`featureGates.${gate}`),
      `docs/nodeconfig.md has no row for featureGates.${gate}`,
    );
  }
  for (const n of named) {
    if (n === "featureGates") continue;
    const gate = /^featureGates\.(\w+)$/.exec(n)?.[1];
    if (gate) assert.ok(gate in FEATURE_GATES, `docs/nodeconfig.md names a gate eksnode does not know: ${n}`);
    else {
      const base = n.replace(/\.(default|SERVICE)$/, "");
      assert.ok(
        fields.some((f) => f === base || f.startsWith(`${base}.`)),
        `docs/nodeconfig.md has a row for ${n}, which the NodeConfig schema does not have`,
      );
    }
  }
});

Deno.test("docs/nodeconfig.md: every file the field table names is a path eksnode declares", async () => {
  const declared = new Set<string>([
    HOSTS_FILE,
    ...Object.values(nodePaths).filter((v): v is string => typeof v === "string"),
  ]);
  const files = (await fieldRows()).flatMap((r) => r.files);
  assert.ok(files.length >= 10, files.join(", "));
  for (const f of files) {
    const concrete = f.replace("SERVICE", "kubelet");
    const ok = declared.has(concrete) || concrete === nodePaths.serviceEnvDropIn("kubelet");
    assert.ok(ok, `docs/nodeconfig.md names ${f}, which is not a path in eks/paths/node.ts`);
  }
});
