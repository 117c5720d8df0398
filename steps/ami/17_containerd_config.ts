/**
 * Step 17: /etc/containerd/config.toml in containerd 2.x's format (version = 3): systemd cgroups for
 * runc, the cached pause image pinned as the sandbox image, CNI paths, registry hosts from certs.d.
 * Layout as awslabs/amazon-eks-ami nodeadm/internal/containerd/config2.template.toml
 * @ 3477d8f128e14b52eb2cb07816aabbf6e779f0f2 (version 3), with AL2's `imports` of config.d
 * (templates/al2/runtime/containerd-config.toml @ 567ee65c26d8422b93edd5eb91d0d224c9903c4d). The
 * content is parsed as TOML before it is installed and, when the containerd on this machine is 2.x,
 * loaded with `containerd --config FILE config dump`.
 */
import { parse as parseToml } from "smol-toml";
import { checkedFile, dir, type ValidationResult } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { Step } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import { generatedContainerdConfig } from "../../eks/containerd_config.ts";
import { bakeSandboxImage } from "./image_cache.ts";
import { RUNC_PATH } from "./10_runc.ts";

/** Where the config goes. */
export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";

/** The major.minor of `containerd --version` output, e.g. "containerd github.com/containerd/containerd v2.1.4 ..." → [2, 1]. */
export function containerdVersion(text: string): [number, number] | undefined {
  const m = /\sv?(\d+)\.(\d+)\.\d+/.exec(` ${text}`);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** TOML parse and version check, then `containerd config dump` when this machine's containerd is 2.x. */
export async function validateContainerdConfig(candidate: string, host: Host): Promise<ValidationResult> {
  let data: Record<string, unknown>;
  try {
    data = parseToml(await Deno.readTextFile(candidate)) as Record<string, unknown>;
  } catch (err) {
    return { ok: false, detail: `not valid TOML: ${(err as Error).message.split("\n")[0]}` };
  }
  if (data.version !== 3) {
    return { ok: false, detail: `version is ${String(data.version)}, containerd 2.x needs 3` };
  }
  const containerd = await host.which("containerd");
  if (!containerd) return { ok: true, detail: "containerd not on this machine: checked as TOML only" };
  const v = await host.exec([containerd, "--version"], { allowFailure: true });
  const ver = containerdVersion(v.stdout);
  if (!ver || ver[0] < 2) {
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
}

/** Step 17. */
export const step: Step<AmiContext> = {
  id: "ami.17",
  number: 17,
  title: "Install /etc/containerd/config.toml",
  group: "Containerd",
  plan(ctx) {
    const text =
      "# /etc/containerd/config.toml written by eksnode ami (step 17); `eksnode init` rewrites it.\n" +
      generatedContainerdConfig({
        sandboxImage: bakeSandboxImage(ctx),
        kubernetesVersion: ctx.release.minor,
        runcPath: RUNC_PATH,
      });
    return [
      dir("/etc/containerd"),
      dir("/etc/containerd/config.d"),
      checkedFile(CONTAINERD_CONFIG, text, {}, "containerd config check", validateContainerdConfig),
    ];
  },
};
