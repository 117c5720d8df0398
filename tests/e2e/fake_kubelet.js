#!/usr/bin/env -S DENO_DIR=/opt/e2e/deno-dir /opt/e2e/deno run --allow-all --cached-only --quiet --ext=js
// The boot test's kubelet: served by the loopback mirror as the kubelet artifact, installed by
// `eksnode ami` step 22 as /usr/bin/kubelet and started by kubelet.service inside the booted container.
// It checks what a real kubelet would read at start (its flags, its config file, its kubeconfig and the
// files they name, containerd's socket), writes what it found to /run/eksnode-e2e/kubelet.json and
// stays up; with any problem it exits 1 after writing the report. Runs with the Deno and DENO_DIR the
// test binds into the container at /opt/e2e (plain JavaScript: no type check at start).
// deno-lint-ignore no-import-prefix -- it runs as /usr/bin/kubelet, outside this repository's deno.json
import { parse as parseYaml } from "npm:yaml@2.9.1";

// Flags of kubelet 1.32 that eksnode may pass (kubernetes.io/docs/reference/command-line-tools-reference/kubelet/);
// any other flag would stop a real kubelet ("unknown flag").
const KNOWN = new Set([
  "config",
  "kubeconfig",
  "bootstrap-kubeconfig",
  "container-runtime-endpoint",
  "image-credential-provider-config",
  "image-credential-provider-bin-dir",
  "node-ip",
  "hostname-override",
  "cloud-provider",
  "node-labels",
  "register-with-taints",
  "pod-infra-container-image",
  "runtime-cgroups",
  "v",
]);

const problems = [];
const checked = [];
const flags = {};
for (const arg of Deno.args) {
  const m = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
  if (!m) problems.push(`argument ${JSON.stringify(arg)} is not --flag=value`);
  else if (!KNOWN.has(m[1])) problems.push(`unknown flag --${m[1]}`);
  else flags[m[1]] = m[2];
}

function readText(what, path) {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    problems.push(`${what} ${path}: ${err.message}`);
    return undefined;
  }
}

function check(what, ok, detail) {
  if (ok) checked.push(what);
  else problems.push(`${what}: ${detail}`);
}

let config;
if (!flags.config) problems.push("no --config");
else {
  const text = readText("--config", flags.config);
  try {
    config = text === undefined ? undefined : JSON.parse(text);
  } catch (err) {
    problems.push(`--config ${flags.config} is not JSON: ${err.message}`);
  }
}
if (config) {
  check("config kind", config.kind === "KubeletConfiguration", `kind is ${config.kind}`);
  check(
    "config apiVersion",
    config.apiVersion === "kubelet.config.k8s.io/v1beta1",
    `apiVersion is ${config.apiVersion}`,
  );
  check(
    "config clusterDNS",
    Array.isArray(config.clusterDNS) && config.clusterDNS.length > 0,
    "no clusterDNS",
  );
  const endpoint = flags["container-runtime-endpoint"] ?? config.containerRuntimeEndpoint;
  const sock = typeof endpoint === "string" ? endpoint.replace(/^unix:\/\//, "") : "";
  let isSocket = false;
  try {
    isSocket = Deno.lstatSync(sock).isSocket === true;
  } catch { /* reported below */ }
  check("containerd socket", isSocket, `${endpoint} is not a socket`);
}

if (!flags.kubeconfig) problems.push("no --kubeconfig");
else {
  const text = readText("--kubeconfig", flags.kubeconfig);
  let kc;
  try {
    kc = text === undefined ? undefined : parseYaml(text);
  } catch (err) {
    problems.push(`--kubeconfig ${flags.kubeconfig} is not YAML: ${err.message}`);
  }
  if (kc) {
    check("kubeconfig kind", kc.kind === "Config", `kind is ${kc.kind}`);
    const cluster = kc.clusters?.[0]?.cluster ?? {};
    check("kubeconfig server", /^https:\/\/\S+$/.test(cluster.server ?? ""), `server is ${cluster.server}`);
    const ca = cluster["certificate-authority"];
    const caText = ca ? readText("certificate-authority", ca) : undefined;
    check("kubeconfig CA", caText?.includes("-----BEGIN CERTIFICATE-----"), `${ca} holds no certificate`);
    const ctx = kc.contexts?.find((c) => c.name === kc["current-context"]);
    check("kubeconfig context", ctx !== undefined, `current-context ${kc["current-context"]} not defined`);
  }
}

const providerConfig = flags["image-credential-provider-config"];
if (providerConfig) {
  const text = readText("--image-credential-provider-config", providerConfig);
  let doc;
  try {
    doc = text === undefined ? undefined : JSON.parse(text);
  } catch (err) {
    problems.push(`${providerConfig} is not JSON: ${err.message}`);
  }
  if (doc) {
    check("credential provider config", doc.kind === "CredentialProviderConfig", `kind is ${doc.kind}`);
    for (const p of doc.providers ?? []) {
      let exe = false;
      try {
        exe =
          ((Deno.statSync(`${flags["image-credential-provider-bin-dir"]}/${p.name}`).mode ?? 0) & 0o111) !==
            0;
      } catch { /* reported below */ }
      check(`credential provider ${p.name}`, exe, "not an executable in --image-credential-provider-bin-dir");
    }
  }
}
if (flags["node-ip"] !== undefined) {
  check("node-ip", /^[0-9.]+$|^[0-9a-f:]+$/i.test(flags["node-ip"]), `${flags["node-ip"]} is no address`);
}

const report = { pid: Deno.pid, args: Deno.args, flags, checked, problems };
Deno.mkdirSync("/run/eksnode-e2e", { recursive: true });
Deno.writeTextFileSync("/run/eksnode-e2e/kubelet.json.tmp", JSON.stringify(report, null, 2) + "\n");
Deno.renameSync("/run/eksnode-e2e/kubelet.json.tmp", "/run/eksnode-e2e/kubelet.json");
if (problems.length) {
  console.error(`fake kubelet: ${problems.join("; ")}`);
  Deno.exit(1);
}
console.log(`fake kubelet: ${checked.length} checks passed; staying up`);
setInterval(() => {}, 3_600_000);
