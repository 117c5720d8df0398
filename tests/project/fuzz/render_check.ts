/**
 * For the fuzz and injection tests: renders every file `eksnode init` writes from NodeSettings, and
 * checks that no input changed their structure. Unit files are read back with a decoder written
 * from systemd.syntax(7) / systemd.service(5) independently of lib/systemd_quote.ts: the same
 * sections and directives as a benign node, ExecStart decoding to exactly the argv eksnode meant,
 * Environment= to exactly the variables; JSON, YAML and TOML files parse, with each input value
 * found only where it belongs.
 */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { renderContainerdConfig } from "../../../eks/containerd/config.ts";
import { renderCredentialProviderConfig } from "../../../eks/kubelet/credential_provider.ts";
import { renderCaCert, renderKubeconfig } from "../../../eks/kubelet/kubeconfig.ts";
import { KUBELET_BIN, kubeletArgs } from "../../../eks/kubelet/args.ts";
import { renderKubeletConfig } from "../../../eks/kubelet/config.ts";
import { renderKubeletUnit, renderSandboxImageUnit } from "../../../eks/system/node_units.ts";
import { environmentFiles } from "../../../eks/system/environment.ts";
import { renderResolvedDropIn } from "../../../eks/system/resolved.ts";
import { SYSTEM_ENV_CONF } from "../../../eks/paths/node.ts";
import type { NodeSettings } from "../../../steps/init/context.ts";
import { testNode } from "../../../fakes/node_settings.ts";

/** The text of every file init renders for `node` (throws what the renderers throw). */
export function renderNodeFiles(node: NodeSettings): Record<string, string> {
  const files: Record<string, string> = {
    "kubelet.service": renderKubeletUnit(node),
    "sandbox-image.service": renderSandboxImageUnit(node),
    "kubeconfig (aws-iam-authenticator)": renderKubeconfig(node, "aws-iam-authenticator"),
    "kubeconfig (aws-cli)": renderKubeconfig(node, "aws-cli"),
    "ca.crt": renderCaCert(node),
    "containerd config.toml": renderContainerdConfig(node),
    "kubelet-config.json": renderKubeletConfig(node),
    "credential provider config.json": renderCredentialProviderConfig({
      kubernetesVersion: node.kubernetesVersion,
    }),
  };
  for (const f of environmentFiles(node.environment)) if (f.text !== undefined) files[f.path] = f.text;
  const resolved = renderResolvedDropIn(node.network);
  if (resolved !== undefined) files["40-eks.conf"] = resolved;
  return files;
}

/** One directive of a unit file. */
export interface Directive {
  section: string;
  key: string;
  value: string;
}

/**
 * Reads a unit file as systemd does: `#`/`;` comment lines, `[Section]` headers, `Key=Value` lines, a
 * trailing backslash joining the next line (with a space). Throws on a line that is none of these.
 */
export function parseUnit(text: string): Directive[] {
  const out: Directive[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (/^\s*[#;]/.test(line) || line.trim() === "") continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = line.slice(0, -1) + " " + lines[++i];
    const header = /^\[([^\]]+)\]$/.exec(line.trim());
    if (header) {
      section = header[1];
      continue;
    }
    // Only "\n" ends a line for systemd: "\r", U+2028 and the like are part of it.
    const kv = /^([A-Za-z0-9_-]+)\s*=(.*)$/s.exec(line);
    if (!kv) throw new Error(`unit line ${i + 1} is not a directive: ${JSON.stringify(line)}`);
    out.push({ section, key: kv[1], value: kv[2].trim() });
  }
  return out;
}

const C_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
  s: " ",
};

/**
 * Splits a directive value into words the way systemd does for ExecStart= and Environment=: whitespace
 * separates words, quotes group, C escapes are decoded, `%%` is `%` (any other specifier is an error
 * here: eksnode writes none), and with `dollar` `$$` is `$` (a `$NAME` expansion is an error here).
 */
export function decodeWords(value: string, dollar: boolean): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "%") {
      if (value[i + 1] !== "%") {
        throw new Error(`unexpected specifier %${value[i + 1]} in ${JSON.stringify(value)}`);
      }
      word = (word ?? "") + "%";
      i++;
      continue;
    }
    if (dollar && c === "$") {
      if (value[i + 1] !== "$") throw new Error(`unexpected variable expansion in ${JSON.stringify(value)}`);
      word = (word ?? "") + "$";
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) {
        quote = undefined;
      } else if (c === "\\") {
        const n = value[++i];
        if (n === "x") {
          word += String.fromCharCode(parseInt(value.slice(i + 1, i + 3), 16));
          i += 2;
        } else if (n in C_ESCAPES) word += C_ESCAPES[n];
        else throw new Error(`unknown escape \\${n} in ${JSON.stringify(value)}`);
      } else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      word = word ?? "";
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "\\") {
      throw new Error(`a backslash outside quotes in ${JSON.stringify(value)}`);
    } else word = (word ?? "") + c;
  }
  if (quote) throw new Error(`unterminated quote in ${JSON.stringify(value)}`);
  if (word !== undefined) words.push(word);
  return words;
}

const directiveShape = (d: Directive[]) => d.map((x) => `[${x.section}] ${x.key}`);

let baseline: Record<string, string[]> | undefined;

/** Directive shapes of a benign node's units: a hostile value may change values, never the shape. */
function baselineShapes(): Record<string, string[]> {
  if (!baseline) {
    const node = testNode({ environment: { kubelet: { HTTP_PROXY: "http://proxy:3128" } } });
    baseline = {
      "kubelet.service": directiveShape(parseUnit(renderKubeletUnit(node))),
      "sandbox-image.service": directiveShape(parseUnit(renderSandboxImageUnit(node))),
    };
  }
  return baseline;
}

/**
 * Checks every rendered file of `node` against what its inputs should produce; throws an assertion
 * error naming the file when an input reached a place it should not.
 */
export function checkNodeFiles(node: NodeSettings, files: Record<string, string>): void {
  const shapes = baselineShapes();
  for (const [name, text] of Object.entries(files)) {
    assert.ok(!text.includes("\0"), `${name} holds a NUL byte`);
  }
  // kubelet.service: the same directives as always; ExecStart is exactly kubelet and its argv.
  const kubelet = parseUnit(files["kubelet.service"]);
  assert.deepEqual(directiveShape(kubelet), shapes["kubelet.service"], "kubelet.service directives");
  const exec = kubelet.find((d) => d.key === "ExecStart")!;
  assert.deepEqual(
    decodeWords(exec.value, true),
    [KUBELET_BIN, ...kubeletArgs(node)],
    "kubelet ExecStart argv",
  );

  // sandbox-image.service: `eksnode pull-image ... IMAGE`, the image last and whole.
  const sandbox = parseUnit(files["sandbox-image.service"]);
  const sandboxShape = directiveShape(sandbox).filter((s) => !s.endsWith(" Environment"));
  assert.deepEqual(sandboxShape, shapes["sandbox-image.service"], "sandbox-image.service directives");
  const argv = decodeWords(sandbox.find((d) => d.key === "ExecStart")!.value, true);
  assert.deepEqual(argv.slice(1, -1), ["pull-image", "--namespace", "k8s.io"]);
  assert.equal(argv.at(-1), node.sandboxImage);

  // The environment files: one (Default)Environment= per variable, each decoding to NAME=value exactly,
  // and exactly the services that have variables.
  const envFiles = Object.keys(files).filter((k) => k.endsWith("/environment.conf"));
  // sandbox-image.service gets containerd's variables under its own (eks/system/environment.ts).
  const withSandbox = {
    ...node.environment,
    "sandbox-image": { ...node.environment.containerd, ...node.environment["sandbox-image"] },
  };
  const wanted = Object.entries(withSandbox).filter(([, vars]) => Object.keys(vars).length > 0);
  assert.equal(envFiles.length, wanted.length, "one environment file a service with variables");
  for (const [service, vars] of wanted) {
    const path = service === "default"
      ? SYSTEM_ENV_CONF
      : `/etc/systemd/system/${service}.service.d/environment.conf`;
    const [section, key] = service === "default"
      ? ["Manager", "DefaultEnvironment"]
      : ["Service", "Environment"];
    const env = parseUnit(files[path]);
    assert.ok(env.every((d) => d.section === section && d.key === key), `${path} directives`);
    const decoded = env.map((d) => decodeWords(d.value, false));
    assert.ok(decoded.every((w) => w.length === 1), "one variable per Environment= line");
    assert.deepEqual(
      Object.fromEntries(decoded.map(([w]) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)])),
      vars,
      `${path} variables`,
    );
  }

  // kubeconfig: YAML whose server is the endpoint and whose exec command is a fixed binary.
  for (const key of ["kubeconfig (aws-iam-authenticator)", "kubeconfig (aws-cli)"]) {
    const doc = parseYaml(files[key]);
    assert.equal(doc.clusters.length, 1);
    assert.equal(doc.clusters[0].cluster.server, node.cluster.endpoint, `${key} server`);
    assert.ok(["/usr/bin/aws-iam-authenticator", "/usr/bin/aws"].includes(doc.users[0].user.exec.command));
    assert.ok(
      doc.users[0].user.exec.args.includes(node.cluster.enableOutpost ? node.cluster.id : node.cluster.name),
    );
  }
  // containerd config: TOML (merges may add tables; the pinned sandbox image is ours unless merged over).
  parseToml(files["containerd config.toml"]);
  // kubelet config and credential provider config: JSON.
  const kubeletConfig = JSON.parse(files["kubelet-config.json"]);
  assert.equal(typeof kubeletConfig, "object");
  JSON.parse(files["credential provider config.json"]);
  // The CA file holds only PEM certificate blocks, or, for a given CA (NodeConfig or --b64-cluster-ca) that
  // decodes to something else (warned about when loaded), exactly those bytes, as nodeadm writes them.
  if (files["ca.crt"] !== node.cluster.certificateAuthorityPem) {
    assert.match(files["ca.crt"], /^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/);
  }
}
