/**
 * /etc/containerd/config.toml in the schema of the containerd step 11 installs (version 3 for
 * containerd 2.x, version 2 for 1.x: eks/containerd/version.ts): systemd cgroups for runc, the cached
 * pause image pinned as the sandbox image, CNI paths, registry hosts from certs.d, and the base runtime
 * spec it names (/etc/containerd/base-runtime-spec.json, nodeadm's default). Layout as awslabs/amazon-eks-ami
 * nodeadm/internal/containerd/config.template.toml and config2.template.toml @ 81fec2e8, with AL2's
 * `imports` of config.d (templates/al2/runtime/containerd-config.toml @ 567ee65c26d8422b93edd5eb91d0d224c9903c4d).
 * The content is parsed as TOML before it is installed and, when the containerd on this machine reads its
 * schema, loaded with `containerd --config FILE config dump`.
 */
import { parse as parseToml } from "smol-toml";
import { checkedFile, dir, satisfiedByCopy, type ValidationResult } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { AmiStepDef } from "./context.ts";
import { DEFAULT_BASE_RUNTIME_SPEC } from "../../eks/containerd/base_runtime_spec.ts";
import { containerdMajor, type ContainerdSchema } from "../../eks/containerd/version.ts";
import { generatedContainerdConfig } from "../../eks/containerd/config.ts";
import {
  CONTAINERD_BASE_RUNTIME_SPEC,
  CONTAINERD_CONFIG,
  EKS_CONTAINERD_CONFIG,
} from "../../eks/paths/node.ts";
import { file } from "../../lib/changes.ts";
import { bakeSandboxImage } from "./image_cache.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The major.minor of `containerd --version` output, e.g. "containerd github.com/containerd/containerd v2.1.4 ..." → [2, 1]. */
export function containerdVersion(text: string): [number, number] | undefined {
  const m = /\sv?(\d+)\.(\d+)\.\d+/.exec(` ${text}`);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The config schema of the containerd a bake installs: 2 for containerd 1.x, else 3. */
export function bakedSchema(containerdVersion: string): ContainerdSchema {
  return (containerdMajor(containerdVersion) ?? 2) < 2 ? 2 : 3;
}

/**
 * TOML parse and version check (the schema the baked containerd reads), then `containerd config dump`
 * when this machine's containerd reads that schema (1.x reads 2, 2.x reads 2 and 3).
 */
export function containerdConfigValidator(schema: ContainerdSchema) {
  return async (candidate: string, host: Host): Promise<ValidationResult> => {
    let data: Record<string, unknown>;
    try {
      data = parseToml(await Deno.readTextFile(candidate)) as Record<string, unknown>;
    } catch (err) {
      return { ok: false, detail: `not valid TOML: ${(err as Error).message.split("\n")[0]}` };
    }
    if (data.version !== schema) {
      return {
        ok: false,
        detail: `version is ${String(data.version)}, the baked containerd needs ${schema}`,
      };
    }
    const containerd = await host.which("containerd");
    if (!containerd) return { ok: true, detail: "containerd not on this machine: checked as TOML only" };
    const v = await host.exec([containerd, "--version"], { allowFailure: true });
    const ver = containerdVersion(v.stdout);
    if (!ver || (ver[0] < 2 && schema === 3)) {
      return {
        ok: true,
        detail: `containerd here is ${
          v.stdout.trim() || "of unknown version"
        }, which reads config version 2 at most: checked as TOML only`,
      };
    }
    const r = await host.exec([containerd, "--config", candidate, "config", "dump"], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    if (r.code !== 0) {
      return {
        ok: false,
        detail: (r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`).replaceAll(candidate, "config.toml"),
      };
    }
    return { ok: true };
  };
}

/** The step. */
export const step: AmiStepDef = {
  title: "Install /etc/containerd/config.toml",
  group: "Containerd",
  leaves: [
    expectDir("/etc/containerd"),
    expectDir("/etc/containerd/config.d"),
    expectFile(CONTAINERD_CONFIG),
    expectFile(CONTAINERD_BASE_RUNTIME_SPEC),
  ],
  plan(ctx) {
    const schema = bakedSchema(ctx.versions.artifacts.containerd.version);
    const text =
      "# /etc/containerd/config.toml written by eksnode ami (step 17); `eksnode init` rewrites it.\n" +
      generatedContainerdConfig({
        schema,
        sandboxImage: bakeSandboxImage(ctx),
        kubernetesVersion: ctx.release.minor,
      });
    return [
      dir("/etc/containerd"),
      dir("/etc/containerd/config.d"),
      // The config names it: containerd 2 does not start its CRI plugin without the file.
      file(CONTAINERD_BASE_RUNTIME_SPEC, DEFAULT_BASE_RUNTIME_SPEC, { mode: 0o644 }),
      // After `eksnode init` the file is the node's (rendered from its NodeConfig, a copy kept under
      // /etc/eks/containerd): a rebake leaves it, init renders it again at every boot.
      satisfiedByCopy(
        checkedFile(
          CONTAINERD_CONFIG,
          text,
          {},
          "containerd config check",
          containerdConfigValidator(schema),
        ),
        CONTAINERD_CONFIG,
        EKS_CONTAINERD_CONFIG,
      ),
    ];
  },
};
