/** The files in examples/userdata/ go through the same parsing path `eksnode init` uses. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseBootstrapArgs } from "../../cli/bootstrap_flags.ts";
import { findBootstrapInvocations } from "../../eks/api/bootstrap_script.ts";
import { ec2NodeClassUserData } from "../../eks/api/karpenter_userdata.ts";
import { validateNodeConfig } from "../../eks/api/nodeconfig.ts";
import { certificateAuthorityPem } from "../../eks/api/values.ts";
import { mergeNodeConfigs } from "../../eks/api/merge.ts";
import { parseUserDataDetailed } from "../../eks/api/userdata.ts";

const dir = (name: string) => fileURLToPath(new URL(`../../examples/userdata/${name}`, import.meta.url));

Deno.test("examples/userdata/mime-multipart.txt: one NodeConfig part, one skipped shell part", async () => {
  const bytes = await Deno.readFile(dir("mime-multipart.txt"));
  const found = await parseUserDataDetailed(bytes, "user data");
  assert.deepEqual(found.parts.map((p) => p.origin), ["user data part 1 (application/node.eks.aws)"]);
  assert.deepEqual(found.skipped.map((s) => [s.origin, s.contentType]), [
    ["user data part 2 (text/x-shellscript)", "text/x-shellscript"],
  ]);
  const config = validateNodeConfig(mergeNodeConfigs(found.parts.map((p) => p.config)), "user data");
  assert.equal(config.spec.cluster.name, "my-cluster");
  assert.equal(config.spec.cluster.cidr, "10.100.0.0/16");
  assert.match(
    certificateAuthorityPem(config.spec.cluster.certificateAuthority),
    /^-----BEGIN CERTIFICATE-----\n/,
  );
  assert.deepEqual(config.spec.kubelet?.flags, [
    "--node-labels=team=platform,nodegroup=general",
    "--register-with-taints=dedicated=platform:NoSchedule",
  ]);
  assert.deepEqual(config.spec.kubelet?.config, { maxPods: 58, clusterDNS: ["10.100.0.10"] });
  assert.match(config.spec.containerd?.config ?? "", /config_path = "\/etc\/containerd\/certs\.d"/);
  assert.equal(config.spec.instance?.localStorage?.strategy, "RAID0");
});

Deno.test("examples/userdata/karpenter-ec2nodeclass.yaml: spec.userData parses as MIME NodeConfig", async () => {
  const manifest = await Deno.readTextFile(dir("karpenter-ec2nodeclass.yaml"));
  const classes = ec2NodeClassUserData(manifest, "karpenter-ec2nodeclass.yaml");
  assert.deepEqual(classes.map((c) => c.name), ["general"]);
  const found = await parseUserDataDetailed(classes[0].userData, "EC2NodeClass general spec.userData");
  assert.equal(found.parts.length, 1);
  assert.equal(found.parts[0].origin, "EC2NodeClass general spec.userData part 1 (application/node.eks.aws)");
  assert.deepEqual(found.parts[0].config.spec, {
    kubelet: {
      config: { maxPods: 110, shutdownGracePeriod: "30s" },
      flags: ["--node-labels=karpenter.sh/nodepool=general"],
    },
    instance: { localStorage: { strategy: "RAID0" } },
  });
  assert.deepEqual(found.skipped.map((s) => s.contentType), ["text/x-shellscript"]);
  // Karpenter supplies the cluster details in its own part; alone, this config is incomplete.
  assert.throws(
    () => validateNodeConfig(found.parts[0].config, "EC2NodeClass general"),
    /spec\.cluster\.name/,
  );
});

Deno.test("examples/userdata/bootstrap-al2.sh: the bootstrap.sh call becomes a NodeConfig part", async () => {
  const script = await Deno.readTextFile(dir("bootstrap-al2.sh"));
  // As user data, a shell script holds no NodeConfig ...
  const asUserData = await parseUserDataDetailed(new TextEncoder().encode(script), "user data");
  assert.equal(asUserData.parts.length, 0);
  assert.equal(asUserData.skipped[0].contentType, "text/x-shellscript");
  // ... but its bootstrap.sh call can be read (the `cp` line is not a call).
  const calls = findBootstrapInvocations(script, "bootstrap-al2.sh");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].line, 8);
  assert.deepEqual(calls[0].dynamic, []);
  const args = parseBootstrapArgs(calls[0].argv);
  const cluster = args.nodeConfig.spec?.cluster;
  assert.equal(cluster?.name, "my-cluster");
  assert.equal(
    cluster?.apiServerEndpoint,
    "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
  );
  assert.match(certificateAuthorityPem(cluster?.certificateAuthority ?? ""), /BEGIN CERTIFICATE/);
  assert.deepEqual(args.nodeConfig.spec?.kubelet?.flags, [
    "--node-labels=a=b",
    "--max-pods=30",
    "--register-with-taints=dedicated=batch:NoSchedule",
  ]);
  assert.deepEqual(args.legacy, { dnsClusterIp: ["10.100.0.10"], useMaxPods: false });
});

Deno.test("examples/userdata/karpenter-ec2nodeclass.yaml selects the images the Packer example bakes, AL2023 family", async () => {
  const { parse } = await import("yaml");
  const nodeClass = parse(await Deno.readTextFile(dir("karpenter-ec2nodeclass.yaml")));
  assert.equal(nodeClass.spec.amiFamily, "AL2023", "Karpenter writes NodeConfig user data for AL2023");
  const terms: Record<string, unknown>[] = nodeClass.spec.amiSelectorTerms;
  assert.ok(terms.every((t) => !("alias" in t)), "an alias selects the stock EKS AMI");
  // The Packer template's Name tag: "${var.ami_name_prefix}-${var.kubernetes_version}-${var.arch}".
  const packer = await Deno.readTextFile(new URL("../../examples/packer/eks-node.pkr.hcl", import.meta.url));
  assert.match(
    packer,
    /Name\s*=\s*"\$\{var\.ami_name_prefix\}-\$\{var\.kubernetes_version\}-\$\{var\.arch\}"/,
  );
  const prefix = /variable "ami_name_prefix" \{[^}]*default\s*=\s*"([^"]+)"/.exec(packer)![1];
  const names = terms.map((t) => (t.tags as Record<string, string>).Name).sort();
  assert.deepEqual(names, [`${prefix}-1.32-aarch64`, `${prefix}-1.32-x86_64`]);
});
