/**
 * The pure pieces of nodeadm's NodeConfig API behaviour (awslabs/amazon-eks-ami commit 81fec2e8): feature
 * gates, the max pods expression (CEL), the environment and resolved.conf files, the proxy choice for
 * eksnode's AWS calls, and what `eksnode init` resolves from them. The CLI test of the same features is
 * tests/cli/nodeconfig_api_cli_test.ts.
 */
import assert from "node:assert/strict";
import { resolveFeatureGates, unknownFeatureGates } from "../../../eks/api/feature_gates.ts";
import { proxyFor } from "../../../eks/aws/call.ts";
import {
  evaluateMaxPodsExpression,
  maxPodsExpressionProblem,
} from "../../../eks/kubelet/max_pods_expression.ts";
import { checkNodeConfig, resolveNodeSettings } from "../../../eks/api/resolve_node_settings.ts";
import type { NodeConfigInput } from "../../../eks/api/nodeconfig.ts";
import { environmentFiles, normalizeEnvironment } from "../../../eks/system/environment.ts";
import { renderResolvedDropIn } from "../../../eks/system/resolved.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { TEST_CA_PEM, testNode } from "../../../fakes/node_settings.ts";

Deno.test("feature gates: both of nodeadm's, default false; unknown names have no effect", () => {
  assert.deepEqual(resolveFeatureGates(undefined), { InstanceIdNodeName: false, FastImagePull: false });
  assert.deepEqual(resolveFeatureGates({ FastImagePull: true, Other: true }), {
    InstanceIdNodeName: false,
    FastImagePull: true,
  });
  assert.deepEqual(unknownFeatureGates({ Zeta: true, InstanceIdNodeName: true, Alpha: false }), [
    "Alpha",
    "Zeta",
  ]);
});

Deno.test("max pods expression: nodeadm's variables, int conversion, failures reported", () => {
  const m5xlarge = { defaultEnis: 4, ipsPerEni: 15, maxPods: 58 };
  const cases: [string, number | RegExp][] = [
    ["((default_enis -1) * (ips_per_eni - 1)) + 2", 44],
    ["max_pods + 2", 60],
    ["max_pods < 30 ? max_pods : 30", 30],
    ["uint(7)", 7],
    ["7.9", 7],
    ["'12'", 12],
    ["true", /not an integer/],
    ["max_pods - 58", /not a max pods value/],
    ["max_pods * 100000000", /not a max pods value/],
    ["max_pods +", /expecting/],
    ["ips_per_enis", /unresolved/],
    ["max_pods / 0", /divide by zero/],
  ];
  for (const [expr, want] of cases) {
    const r = evaluateMaxPodsExpression(expr, m5xlarge);
    if (typeof want === "number") assert.deepEqual(r, { ok: true, value: want }, expr);
    else {
      assert.equal(r.ok, false, expr);
      if (!r.ok) assert.match(r.problem, want, expr);
    }
  }
  assert.equal(maxPodsExpressionProblem("max_pods + 2"), undefined);
  assert.match(maxPodsExpressionProblem("max_pods +")!, /expecting/);
  assert.match(maxPodsExpressionProblem("foo * 2")!, /unresolved .*m5\.large/);
});

Deno.test("environment files: nodeadm's layout, quoting and sorting; unset files listed for removal", () => {
  const files = environmentFiles({
    default: { NO_PROXY: "localhost", HTTP_PROXY: 'http://p:3128/"%' },
    kubelet: {},
    "sandbox-image": { A: "a\\b" },
  });
  assert.deepEqual(files, [
    {
      path: "/etc/systemd/system.conf.d/environment.conf",
      text:
        '[Manager]\nDefaultEnvironment="HTTP_PROXY=http://p:3128/\\"%%"\nDefaultEnvironment="NO_PROXY=localhost"\n',
    },
    { path: "/etc/systemd/system/kubelet.service.d/environment.conf", text: undefined },
    { path: "/etc/systemd/system/containerd.service.d/environment.conf", text: undefined },
    {
      path: "/etc/systemd/system/sandbox-image.service.d/environment.conf",
      text: '[Service]\nEnvironment="A=a\\\\b"\n',
    },
  ]);
  // sandbox-image.service (eksnode's pause image pull) gets containerd's variables under its own.
  const sandbox = environmentFiles({
    containerd: { HTTPS_PROXY: "http://p", A: "c" },
    "sandbox-image": { A: "s" },
  });
  assert.equal(
    sandbox.find((f) => f.path === "/etc/systemd/system/sandbox-image.service.d/environment.conf")?.text,
    '[Service]\nEnvironment="A=s"\nEnvironment="HTTPS_PROXY=http://p"\n',
  );
  assert.deepEqual(normalizeEnvironment({ default: { A: "1" } }), { value: { default: { A: "1" } } });
  assert.deepEqual(normalizeEnvironment({}), { value: {} });
});

Deno.test("resolved.conf drop-in: nodeadm's template, each list optional", () => {
  assert.equal(renderResolvedDropIn(undefined), undefined);
  assert.equal(renderResolvedDropIn({ nameservers: [], domains: [] }), undefined);
  assert.equal(
    renderResolvedDropIn({ nameservers: ["8.8.8.8", "fd00::2"] }),
    "[Resolve]\nDNS=8.8.8.8 fd00::2\n\n",
  );
  assert.equal(renderResolvedDropIn({ domains: ["a.example"] }), "[Resolve]\n\nDomains=a.example\n");
});

Deno.test("proxyFor: Go's ProxyFromEnvironment rules", () => {
  const env = {
    HTTPS_PROXY: "http://proxy:3128",
    HTTP_PROXY: "proxy:8080",
    NO_PROXY: ".internal,10.0.0.0/8,s3.amazonaws.com:443",
  };
  const cases: [string, string | undefined][] = [
    ["https://eks.us-west-2.amazonaws.com", "http://proxy:3128"],
    ["http://eks.example.com", "http://proxy:8080"],
    ["https://foo.internal", undefined],
    ["https://internal", undefined],
    ["https://10.1.2.3", undefined],
    ["https://11.1.2.3", "http://proxy:3128"],
    ["https://s3.amazonaws.com", undefined],
    ["http://s3.amazonaws.com", "http://proxy:8080"],
    ["http://localhost:8080", undefined],
    ["http://127.0.0.1:8080", undefined],
    ["http://[::1]:8080", undefined],
  ];
  for (const [url, want] of cases) assert.equal(proxyFor(url, env), want, url);
  assert.equal(proxyFor("https://x.example", { https_proxy: "http://p:1", NO_PROXY: "*" }), undefined);
  assert.equal(proxyFor("https://x.example", { https_proxy: "http://p:1" }), "http://p:1");
  assert.equal(proxyFor("https://x.example", {}), undefined);
});

function config(spec: NonNullable<NodeConfigInput["spec"]>): NodeConfigInput {
  return { apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec };
}

const CLUSTER = {
  name: "demo",
  apiServerEndpoint: "https://example.com",
  certificateAuthority: btoa(TEST_CA_PEM),
  cidr: "10.100.0.0/16",
};

function resolve(spec: NonNullable<NodeConfigInput["spec"]>, instanceType = "m5.xlarge") {
  return resolveNodeSettings({
    nodeConfig: config(spec),
    origin: "user data",
    kind: "nodeconfig",
    instance: { ...testNode().instance, instanceType },
    installedKubernetesVersion: "1.32",
    cpuCount: 2,
    privateDnsName: "ip-10-0-0-5.us-west-2.compute.internal",
  });
}

Deno.test("resolveNodeSettings: max pods expression, feature gates, network and environment carried", () => {
  const s = resolve({
    cluster: CLUSTER,
    kubelet: { maxPodsExpression: "max_pods + 2" },
    featureGates: { FastImagePull: true, InstanceIdNodeName: true },
    instance: {
      network: { nameservers: ["10.0.0.2"] },
      environment: { default: { NO_PROXY: "localhost" } },
      localStorage: { strategy: "RAID0", disabledMounts: ["SOCI"] },
    },
  });
  assert.equal(s.maxPods, 60);
  assert.equal(s.maxPodsSource, "max-pods-expression");
  assert.equal(s.kubeReserved.memory, `${255 + 11 * 60}Mi`);
  assert.deepEqual(s.featureGates, { InstanceIdNodeName: true, FastImagePull: true });
  assert.equal(s.nodeName, s.instance.instanceId);
  assert.deepEqual(s.network, { nameservers: ["10.0.0.2"], domains: [] });
  assert.deepEqual(s.environment, { default: { NO_PROXY: "localhost" } });
  assert.deepEqual(s.localStorage?.disabledMounts, ["SOCI"]);
  assert.equal(s.warnings, undefined);

  // The user's maxPods wins; kube-reserved stays sized on the expression (nodeadm doc/examples.md).
  const both = resolve({
    cluster: CLUSTER,
    kubelet: { maxPodsExpression: "max_pods + 2", config: { maxPods: 1 } },
  });
  assert.equal(both.maxPods, 1);
  assert.equal(both.kubeReserved.memory, `${255 + 11 * 60}Mi`);

  // A failing expression: a warning, and the standard value.
  const bad = resolve({ cluster: CLUSTER, kubelet: { maxPodsExpression: "max_pods / 0" } });
  assert.equal(bad.maxPods, 58);
  assert.match(
    bad.warnings![0],
    /maxPodsExpression "max_pods \/ 0" in user data: .*divide by zero; using the standard max pods 58/,
  );
});

Deno.test("checkNodeConfig: init's configuration checks, shared with config check", () => {
  assert.deepEqual(checkNodeConfig(config({ cluster: CLUSTER }), "user data", "nodeconfig"), []);
  const refused: [NonNullable<NodeConfigInput["spec"]>, RegExp][] = [
    [{ cluster: { ...CLUSTER, name: undefined } }, /no cluster name in user data/],
    [
      { cluster: CLUSTER, kubelet: { config: { maxPods: "lots" } } },
      /maxPods in user data must be a whole number/,
    ],
    [
      { cluster: CLUSTER, kubelet: { flags: ["--max-pods=0"] } },
      /--max-pods in user data must be a whole number/,
    ],
    [
      { cluster: CLUSTER, kubelet: { config: { clusterDNS: "10.0.0.10" } } },
      /clusterDNS in user data must be a list/,
    ],
    [
      { cluster: { ...CLUSTER, enableOutpost: true } },
      /local Outposts cluster but user data gives no cluster id/,
    ],
  ];
  for (const [spec, message] of refused) {
    assert.throws(() => checkNodeConfig(config(spec), "user data", "nodeconfig"), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      return true;
    });
  }
  const warned = checkNodeConfig(
    config({ cluster: CLUSTER, kubelet: { maxPodsExpression: "nope" } }),
    "user data",
    "nodeconfig",
  );
  assert.equal(warned.length, 1);
  assert.match(warned[0], /maxPodsExpression "nope" in user data: .*init will use the standard max pods/);
});
