/**
 * containerd's config for the node, in the schema its containerd reads: version 2 for containerd 1.x,
 * version 3 for containerd 2.x (eks/containerd/version.ts decides; eks/containerd/templates.ts renders).
 *
 * NodeConfig `containerd.config` is merged over the generated TOML by eksnode itself, as nodeadm does
 * "because the logic in containerd's import merge decides to completely overwrite entire sections"
 * (nodeadm/internal/containerd/config.go `combineContainerdConfigs` @ 81fec2e8), in the user's own schema:
 * - containerd 2.x and a version-3 `containerd.config` (or none): the version-3 template, merged;
 * - containerd 2.x and a version-2 `containerd.config`: the version-2 template, merged, then migrated to
 *   version 3 (nodeadm runs `containerd config migrate`; eksnode migrates the same way itself,
 *   eks/containerd/migrate.ts), so no version-2 section is left for containerd 2 to ignore;
 * - containerd 1.x: the version-2 template, merged; a version-3 `containerd.config` is refused.
 *
 * bootstrap.sh `--containerd-config-file` replaces the generated file, and the literal `SANDBOX_IMAGE` in
 * it is replaced by the pause image (`templates/al2/runtime/bootstrap.sh` @ 9e910f87).
 */
import { parse, stringify, TomlError } from "smol-toml";
import { ConfigError } from "../../lib/errors.ts";
import type { NodeSettings } from "../api/node_settings.ts";
import { migrateToVersion3 } from "./migrate.ts";
import { containerRuntime } from "./runtime.ts";
import { type ContainerdTemplateInput, generatedConfig } from "./templates.ts";
import { ASSUMED_CONTAINERD_MAJOR, containerdMajor, schemaFor } from "./version.ts";
import { mergeToml } from "../api/merge.ts";

export type { ContainerdTemplateInput };

/**
 * The generated config, before NodeConfig's containerd.config: one renderer for the config the image
 * is baked with (ami step 17) and the one init writes for the node (init step 2).
 */
export function generatedContainerdConfig(input: ContainerdTemplateInput): string {
  return generatedConfig(input);
}

/**
 * The config.toml to install for the node: generated in the schema of its containerd with
 * `containerdConfigOverride` merged (or `containerdConfigReplacement` with `SANDBOX_IMAGE` substituted).
 * Throws ConfigError on bad TOML and on a version-3 containerd.config for containerd 1.x.
 */
export function renderContainerdConfig(node: NodeSettings): string {
  const override = node.containerdConfigOverride;
  const given = override !== undefined && override.trim() !== "";
  if (given) checkToml(override, "NodeConfig containerd.config");
  let out: string;
  if (node.containerdConfigReplacement !== undefined) {
    out = node.containerdConfigReplacement.replaceAll("SANDBOX_IMAGE", node.sandboxImage);
    checkToml(out, "the --containerd-config-file config");
    if (given) out = mergeToml(out, override);
  } else {
    const major = containerdMajor(node.containerdVersion) ?? ASSUMED_CONTAINERD_MAJOR;
    const schema = schemaFor(major, given ? override : undefined);
    out = generatedConfig({
      schema: schema.template,
      sandboxImage: node.sandboxImage,
      kubernetesVersion: node.kubernetesVersion,
      runtime: containerRuntime({ nvidiaRuntimeInstalled: node.nvidiaRuntimeInstalled }),
      soci: node.sociSnapshotter,
    });
    if (given) out = mergeToml(out, override);
    if (schema.written !== schema.template) {
      out = stringify(migrateToVersion3(parse(out) as Record<string, unknown>));
    }
  }
  return out.endsWith("\n") ? out : out + "\n";
}

function checkToml(text: string, what: string): void {
  try {
    parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const first = err.message.split("\n")[0];
    throw new ConfigError(`${what} is not valid TOML: ${first}`, "check the containerd config you gave");
  }
}
