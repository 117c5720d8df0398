/**
 * The scale examples stay valid and in step with the CLI: the EC2 Image Builder component (YAML) and
 * the Packer template (HCL; `packer validate -syntax-only` when packer is installed, else a structural
 * check of its blocks and references). Both must call `eksnode ami` with flags the ami command has.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { amiCommand } from "../../cli/ami.ts";

const root = new URL("../../", import.meta.url).pathname;
const PACKER = `${root}examples/packer/eks-node.pkr.hcl`;
const COMPONENT = `${root}examples/imagebuilder/eksnode-component.yaml`;

/** The long flags `eksnode ami` accepts. */
function amiFlags(): Set<string> {
  return new Set(amiCommand().options.map((o) => o.long!).filter(Boolean));
}

/** Checks an `eksnode ami ...` command line: every --flag is one the ami command has. */
function assertAmiCommandLine(line: string) {
  const m = /\beksnode ami (.*)$/.exec(line);
  assert.ok(m, `no eksnode ami in: ${line}`);
  const flags = amiFlags();
  const used = [...m[1].matchAll(/(^|\s)(--[a-z-]+)/g)].map((x) => x[2]);
  assert.ok(used.includes("--kubernetes-version"), line);
  for (const f of used) assert.ok(flags.has(f), `eksnode ami has no ${f} (line: ${line})`);
}

interface ComponentStep {
  name: string;
  action: string;
  inputs: unknown;
  timeoutSeconds?: number;
  onFailure?: string;
  maxAttempts?: number;
}

Deno.test("Image Builder component: schema, phases, parameters used and defined, real eksnode flags", async () => {
  const doc = parseYaml(await Deno.readTextFile(COMPONENT)) as {
    name: string;
    schemaVersion: number;
    parameters: Record<string, { type: string; default?: string }>[];
    phases: { name: string; steps: ComponentStep[] }[];
  };
  assert.equal(doc.name, "eksnode-bake");
  assert.equal(doc.schemaVersion, 1.0);
  const params = new Map(doc.parameters.map((p) => {
    const [k, v] = Object.entries(p)[0];
    return [k, v];
  }));
  for (const v of params.values()) assert.equal(v.type, "string");
  assert.deepEqual(doc.phases.map((p) => p.name), ["build", "validate"]);
  const knownActions = new Set(["ExecuteBash", "S3Download"]);
  const used = new Set<string>();
  const commands: string[] = [];
  for (const phase of doc.phases) {
    const names = phase.steps.map((s) => s.name);
    assert.equal(new Set(names).size, names.length, `duplicate step names in ${phase.name}`);
    for (const s of phase.steps) {
      assert.match(s.name, /^[A-Za-z][A-Za-z0-9]*$/);
      assert.ok(knownActions.has(s.action), `${s.name}: action ${s.action}`);
      if (s.onFailure) assert.ok(["Abort", "Continue", "Ignore"].includes(s.onFailure));
      if (s.action === "S3Download") {
        const inputs = s.inputs as { source: string; destination: string }[];
        assert.ok(Array.isArray(inputs) && inputs.length > 0);
        for (const i of inputs) {
          assert.match(i.source, /^(s3:\/\/|\{\{ \w+ \}\})/);
          assert.match(i.destination, /^\//);
        }
      } else {
        const inputs = s.inputs as { commands: string[] };
        assert.ok(Array.isArray(inputs.commands) && inputs.commands.every((c) => typeof c === "string"));
        commands.push(...inputs.commands);
      }
      for (const m of JSON.stringify(s.inputs).matchAll(/\{\{ *(\w+) *\}\}/g)) used.add(m[1]);
    }
  }
  assert.deepEqual([...used].sort(), [...params.keys()].sort(), "every parameter used, every use defined");
  const bake = commands.filter((c) => / ami /.test(c));
  assert.equal(bake.length, 1);
  assertAmiCommandLine(bake[0]);
  assert.ok(commands.includes("/usr/bin/eksnode verify"));
  // The variant parameter's default and the examples its description gives are flags of `eksnode ami`.
  const variant = params.get("VariantFlags") as { default?: string; description?: string } | undefined;
  assert.ok(variant?.default, "a VariantFlags parameter with a default");
  for (const f of `${variant.default} ${variant.description}`.matchAll(/--[a-z0-9-]+/g)) {
    assert.ok(amiFlags().has(f[0]), `eksnode ami has no ${f[0]}`);
  }
  assert.ok(commands.some((c) => c.includes("sha256sum --check")), "the binary is checked before it runs");
});

// ---- HCL: a small tokenizer and block reader, enough for a structural check of the template ----

type Tok = { t: "ident" | "string" | "punct" | "nl" | "other"; v: string; line: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      out.push({ t: "nl", v: "\n", line: line++ });
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#" || (c === "/" && src[i + 1] === "/")) {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      assert.ok(end !== -1, `unterminated comment at line ${line}`);
      line += src.slice(i, end).split("\n").length - 1;
      i = end + 2;
    } else if (c === '"') {
      let j = i + 1;
      let depth = 0;
      while (j < src.length) {
        if (src[j] === "\\") j += 2;
        else if (src[j] === "$" && src[j + 1] === "{") {
          depth++;
          j += 2;
        } else if (src[j] === "}" && depth > 0) {
          depth--;
          j++;
        } else if (src[j] === '"' && depth === 0) break;
        else {
          assert.notEqual(src[j], "\n", `unterminated string at line ${line}`);
          j++;
        }
      }
      assert.ok(j < src.length, `unterminated string at line ${line}`);
      out.push({ t: "string", v: src.slice(i + 1, j), line });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i))!;
      out.push({ t: "ident", v: m[0], line });
      i += m[0].length;
    } else if ("{}[]()=,".includes(c)) {
      out.push({ t: "punct", v: c, line });
      i++;
    } else {
      out.push({ t: "other", v: c, line });
      i++;
    }
  }
  return out;
}

interface Block {
  type: string;
  labels: string[];
  attrs: Map<string, Tok[]>;
  blocks: Block[];
  line: number;
}

function readBody(toks: Tok[], pos: { i: number }, closing: boolean): Block {
  const body: Block = { type: "", labels: [], attrs: new Map(), blocks: [], line: toks[pos.i]?.line ?? 0 };
  for (;;) {
    while (pos.i < toks.length && toks[pos.i].t === "nl") pos.i++;
    if (pos.i >= toks.length) {
      assert.ok(!closing, "missing }");
      return body;
    }
    const tok = toks[pos.i];
    if (tok.v === "}" && tok.t === "punct") {
      assert.ok(closing, `unexpected } at line ${tok.line}`);
      pos.i++;
      return body;
    }
    assert.equal(tok.t, "ident", `expected an attribute or block at line ${tok.line}, found ${tok.v}`);
    pos.i++;
    const labels: string[] = [];
    while (toks[pos.i]?.t === "string") labels.push(toks[pos.i++].v);
    const next = toks[pos.i];
    if (next?.v === "=" && labels.length === 0) {
      pos.i++;
      const expr: Tok[] = [];
      let depth = 0;
      while (pos.i < toks.length && !(toks[pos.i].t === "nl" && depth === 0)) {
        const t = toks[pos.i++];
        if (t.t === "punct" && "{[(".includes(t.v)) depth++;
        if (t.t === "punct" && "}])".includes(t.v)) depth--;
        assert.ok(depth >= 0, `unbalanced bracket at line ${t.line}`);
        expr.push(t);
      }
      assert.ok(expr.length > 0, `empty value for ${tok.v} at line ${tok.line}`);
      assert.ok(!body.attrs.has(tok.v), `duplicate attribute ${tok.v} at line ${tok.line}`);
      body.attrs.set(tok.v, expr);
    } else {
      assert.equal(next?.v, "{", `expected { or = after ${tok.v} at line ${tok.line}`);
      pos.i++;
      const child = readBody(toks, pos, true);
      child.type = tok.v;
      child.labels = labels;
      child.line = tok.line;
      body.blocks.push(child);
    }
  }
}

function parseHcl(src: string): Block {
  return readBody(tokenize(src), { i: 0 }, false);
}

const text = (toks: Tok[]) => toks.map((t) => (t.t === "string" ? `"${t.v}"` : t.v)).join(" ");

Deno.test("Packer template: blocks, references and the eksnode command line", async (t) => {
  const src = await Deno.readTextFile(PACKER);
  const top = parseHcl(src);
  const kinds = top.blocks.map((b) => [b.type, ...b.labels].join(" "));
  for (const want of ["packer", "locals", "data amazon-ami al2023", "source amazon-ebs eks-node", "build"]) {
    assert.ok(kinds.includes(want), `missing block ${want}; have ${kinds.join(", ")}`);
  }
  const packer = top.blocks.find((b) => b.type === "packer")!;
  assert.match(text(packer.blocks[0].attrs.get("amazon")!), /"github\.com\/hashicorp\/amazon"/);

  const variables = new Set(top.blocks.filter((b) => b.type === "variable").map((b) => b.labels[0]));
  const locals = new Set([
    ...top.blocks.filter((b) => b.type === "locals").flatMap((b) => [...b.attrs.keys()]),
  ]);
  const datas = new Set(
    top.blocks.filter((b) => b.type === "data").map((b) => `data.${b.labels[0]}.${b.labels[1]}`),
  );
  const sources = new Set(
    top.blocks.filter((b) => b.type === "source").map((b) => `source.${b.labels[0]}.${b.labels[1]}`),
  );
  for (const b of top.blocks.filter((b) => b.type === "variable")) {
    assert.equal(b.labels.length, 1);
    assert.ok(b.attrs.has("type"), `variable ${b.labels[0]} has no type`);
  }
  // Every var./local./data. reference (in expressions and in ${} of strings) is declared.
  for (
    const m of src.replace(/#.*$/gm, "").matchAll(
      /\b(var|local)\.([a-z][a-z0-9_]*)|\b(data\.[a-z-]+\.[a-z0-9_-]+)/g,
    )
  ) {
    if (m[1] === "var") assert.ok(variables.has(m[2]), `undeclared var.${m[2]}`);
    else if (m[1] === "local") assert.ok(locals.has(m[2]), `undeclared local.${m[2]}`);
    else assert.ok(datas.has(m[3].replace(/\.id$/, "")), `undeclared ${m[3]}`);
  }

  const build = top.blocks.find((b) => b.type === "build")!;
  const buildSources = [...text(build.attrs.get("sources")!).matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  assert.ok(buildSources.length > 0 && buildSources.every((s) => sources.has(s)), buildSources.join(","));
  const provisioners = build.blocks.filter((b) => b.type === "provisioner");
  assert.deepEqual(provisioners.map((p) => p.labels[0]), ["file", "file", "shell", "file"]);
  const uploads = provisioners.filter((p) => p.labels[0] === "file" && !p.attrs.has("direction")).map((p) =>
    text(p.attrs.get("destination")!)
  );
  assert.deepEqual(uploads, ['"/tmp/eksnode"', '"/tmp/eksnode-bake.toml"']);
  // After the bake, the image's version-info manifest is downloaded beside the AMI (AL2023's build does).
  assert.equal(text(provisioners[3].attrs.get("direction")!), '"download"');
  assert.equal(text(provisioners[3].attrs.get("source")!), '"/etc/eks/version-info.json"');
  const inline = [...text(provisioners[2].attrs.get("inline")!).matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  const bake = inline.filter((l) => l.includes(" ami "));
  assert.equal(bake.length, 1);
  assert.match(bake[0], /^sudo \/tmp\/eksnode ami /);
  assertAmiCommandLine(bake[0]);
  assert.ok(bake[0].includes("--config /tmp/eksnode-bake.toml"));
  assert.ok(inline.includes("sudo /usr/bin/eksnode verify"), "verify runs before the AMI is taken");
  // The variant comes from variables through local.variant_flags: its flags are flags of `eksnode ami`.
  assert.ok(bake[0].includes("${local.variant_flags} --hygiene"), bake[0]);
  const variantFlags = text(top.blocks.find((b) => b.type === "locals")!.attrs.get("variant_flags")!);
  const flagsUsed = [...variantFlags.matchAll(/--[a-z0-9-]+/g)].map((m) => m[0]);
  assert.deepEqual(flagsUsed, ["--al2023", "--accelerator", "--efa"]);
  for (const f of flagsUsed) assert.ok(amiFlags().has(f), `eksnode ami has no ${f}`);

  const packerBin = ["/usr/bin/packer", "/usr/local/bin/packer"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  await t.step({
    name: "packer validate -syntax-only",
    ignore: packerBin === undefined,
    fn: async () => {
      const out = await new Deno.Command(packerBin!, {
        args: ["validate", "-syntax-only", PACKER],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout));
    },
  });
});

Deno.test("the HCL reader rejects broken templates (so the structural check can fail)", () => {
  const bad = [
    'build {\n  sources = ["a"]\n',
    'source "x" "y" {\n  a = "unterminated\n}\n',
    "locals {\n  a = [1, 2\n}\n",
    'variable "a" {\n  type = string\n  type = number\n}\n',
    "} \n",
  ];
  for (const src of bad) assert.throws(() => parseHcl(src), assert.AssertionError, JSON.stringify(src));
  assert.equal(parseHcl('a "b" {\n  c = { d = 1 }\n}\n').blocks[0].attrs.get("c")?.length, 5);
});
