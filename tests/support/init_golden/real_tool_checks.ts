/**
 * What the programs that read `eksnode init`'s output on a node make of it, checked on a golden case's
 * root after init ran: kubectl reads the kubeconfig, the kubelet config is a KubeletConfiguration with the
 * user's values, containerd's config is TOML naming the sandbox image and runtime, systemd-analyze verifies
 * the units and systemctl --root finds them enabled. A missing tool prints one line and is not an error.
 */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import {
  BOOTSTRAP_KUBECONFIG,
  CA_CERT,
  CONTAINERD_BASE_RUNTIME_SPEC,
  CONTAINERD_CONFIG,
  EKS_CONTAINERD_CONFIG,
  KUBECONFIG,
  KUBELET_CONFIG,
  LOCAL_DISKS_UNIT,
  SOCI_CONFIG,
  SOCI_DEPENDENCY_DROPIN,
} from "../../../eks/paths/node.ts";
import { NVIDIA_RUNTIME } from "../../../eks/containerd/runtime.ts";
import { SOCI_SERVICE } from "../../../eks/containerd/soci.ts";
import { assertValid, have } from "../tool_verdicts.ts";
import { addBaseOs, validateKubeconfig, verifyUnits } from "../validators/mod.ts";
import type { InitCase } from "./case_file.ts";
import { regionOf } from "./instance_tree.ts";

/** Who the "not installed" lines name. */
const WHO = "init_golden_test";

/** A case's root after init, with what init wrote (golden-relative path → text) and its stdout. */
export interface InitResult {
  root: string;
  files: Record<string, string>;
  stdout: string;
}

/** The case's user data as one NodeConfig document, when it is one (not MIME, not bootstrap flags). */
// deno-lint-ignore no-explicit-any -- a parsed NodeConfig is walked by known keys
function singleNodeConfig(c: InitCase): any {
  if (!c.userData?.startsWith("apiVersion:")) return undefined;
  return parseYaml(c.userData);
}

/** The kubeconfigs init wrote parse, name the cluster CA and the token command, and kubectl reads them. */
export async function checkKubeconfigs(c: InitCase, r: InitResult): Promise<void> {
  const written = [KUBECONFIG, BOOTSTRAP_KUBECONFIG].filter((p) => r.files[p.slice(1)] !== undefined);
  assert.ok(written.length > 0, "a kubeconfig is written");
  for (const path of written) {
    const doc = parseYaml(r.files[path.slice(1)]);
    assert.equal(doc["current-context"], "kubelet", path);
    assert.match(doc.clusters[0].cluster.server, /^https:\/\//, path);
    assert.equal(doc.clusters[0].cluster["certificate-authority"], CA_CERT, path);
    const exec = doc.users[0].user.exec;
    assert.equal(exec.command, "/usr/bin/aws-iam-authenticator", path);
    assert.deepEqual([exec.args[0], exec.args[1], exec.args[3], exec.args[4]], [
      "token",
      "-i",
      "--region",
      regionOf(c.instance),
    ], path);
    // kubectl reads it and keeps every key (tests/support/validators/kubectl.ts).
    assertValid(await validateKubeconfig(`${r.root}${path}`), WHO);
  }
}

/** The kubelet config is a KubeletConfiguration; the scalar values of NodeConfig's kubelet.config win. */
export function checkKubeletConfig(c: InitCase, r: InitResult): void {
  const cfg = JSON.parse(r.files[KUBELET_CONFIG.slice(1)]);
  assert.equal(cfg.kind, "KubeletConfiguration");
  assert.match(cfg.providerID, /^aws:\/\/\/[a-z0-9-]+\/i-[0-9a-f]+$/);
  const overrides: Record<string, unknown> = singleNodeConfig(c)?.spec?.kubelet?.config ?? {};
  for (const [k, v] of Object.entries(overrides)) {
    if (typeof v !== "object" || v === null) assert.deepEqual(cfg[k], v, k);
  }
}

/**
 * containerd's config is TOML in the version its containerd reads, pins the sandbox image stdout names,
 * defaults to the NVIDIA runtime where the image has it, and names the base runtime spec written beside it;
 * the SOCI config, its drop-in and the soci snapshotter setting come together, only where the image has it.
 */
export function checkContainerdConfig(c: InitCase, r: InitResult): void {
  const text = r.files[CONTAINERD_CONFIG.slice(1)];
  assert.equal(text, r.files[EKS_CONTAINERD_CONFIG.slice(1)]);
  // deno-lint-ignore no-explicit-any -- parsed TOML is walked by known keys
  const toml = parseToml(text) as any;
  const containerd1 = /^containerd 1\./m.test(r.stdout);
  assert.equal(toml.version, containerd1 ? 2 : 3);
  const cri = toml.plugins["io.containerd.grpc.v1.cri"];
  const images = containerd1 ? cri : toml.plugins["io.containerd.cri.v1.images"];
  const runtime = containerd1 ? cri : toml.plugins["io.containerd.cri.v1.runtime"];
  const sandbox = /^sandbox image (\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(sandbox, "stdout names the sandbox image");
  assert.equal(containerd1 ? images.sandbox_image : images.pinned_images.sandbox, sandbox);
  const rt = c.machine?.[NVIDIA_RUNTIME.binaryName] !== undefined ? "nvidia" : "runc";
  assert.equal(runtime.containerd.default_runtime_name, rt);
  assert.equal(runtime.containerd.runtimes[rt].options.SystemdCgroup, true);
  assert.equal(runtime.containerd.runtimes[rt].base_runtime_spec, CONTAINERD_BASE_RUNTIME_SPEC);
  assert.deepEqual({ ...runtime.cni }, { bin_dir: "/opt/cni/bin", conf_dir: "/etc/cni/net.d" });
  // The spec it names is there: nodeadm's default, with NodeConfig's baseRuntimeSpec merged.
  const spec = JSON.parse(r.files[CONTAINERD_BASE_RUNTIME_SPEC.slice(1)]);
  const userRlimits = singleNodeConfig(c)?.spec?.containerd?.baseRuntimeSpec?.process?.rlimits;
  const nofile = spec.process.rlimits.find((l: { type: string }) => l.type === "RLIMIT_NOFILE");
  assert.ok(nofile, "RLIMIT_NOFILE is set");
  if (userRlimits) assert.deepEqual(spec.process.rlimits, userRlimits);
  const soci = r.files[SOCI_CONFIG.slice(1)] !== undefined;
  assert.equal(r.files[SOCI_DEPENDENCY_DROPIN.slice(1)] !== undefined, soci, "SOCI config and drop-in");
  assert.equal(/snapshotter = "soci"/.test(text), soci, "containerd uses the SOCI snapshotter");
  if (soci) assert.ok(c.machine?.[`/usr/lib/systemd/system/${SOCI_SERVICE}`], "only where the image has it");
}

/** The service units init wrote, by name (drop-ins and copies kept at bootstrap.sh's paths left out). */
function writtenUnits(r: InitResult): string[] {
  return Object.keys(r.files)
    .filter((p) => /^etc\/systemd\/system\/[^/]+\.service$/.test(p))
    .map((p) => p.split("/").pop()!)
    .sort();
}

/**
 * `systemd-analyze verify` of every unit init wrote, inside the root made to look like the image: the base
 * OS's targets and commands, and stand-ins for what `eksnode ami` installs (kubelet, containerd, eksnode).
 * Run after the second init run: the stand-ins are not outputs.
 */
export async function checkUnitsVerify(r: InitResult): Promise<void> {
  await Deno.mkdir(`${r.root}/usr/bin`, { recursive: true });
  for (const bin of ["/usr/bin/kubelet", "/usr/bin/containerd", "/usr/bin/eksnode"]) {
    await Deno.writeTextFile(`${r.root}${bin}`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  }
  await addBaseOs(r.root);
  const units = writtenUnits(r);
  assert.ok(units.includes("kubelet.service") && units.includes("sandbox-image.service"), units.join(" "));
  assertValid(await verifyUnits(r.root, units), WHO);
}

/** `systemctl --root is-enabled`: kubelet, sandbox-image, containerd (and the local disks unit) are enabled. */
export async function checkUnitsEnabled(r: InitResult): Promise<void> {
  if (!have("systemctl", WHO)) return;
  const units = ["kubelet", "sandbox-image", "containerd"];
  if (r.files[LOCAL_DISKS_UNIT.slice(1)] !== undefined) units.push("eksnode-local-disks");
  for (const unit of units) {
    const out = await new Deno.Command("systemctl", {
      args: [`--root=${r.root}`, "is-enabled", unit],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(text.trim(), "enabled", `${unit}: ${text}`);
  }
}
