/**
 * The TOML bake config of `eksnode ami --config bake.toml`. It can set every input flag and override
 * any version, checksum, URL, build date and add-on version of the embedded versions data:
 *
 * ```toml
 * kubernetes_version = "1.32"
 * arch = "x86_64"                  # or aarch64
 * region = "us-west-2"
 * mirror = "https://mirror.internal/eks"
 * insecure_mirror = false          # allow a plain-HTTP mirror that is not on loopback
 * package_manager = "dnf"          # dnf | yum | apt | none
 * containerd_source = "tarball"    # tarball | package
 * keep_swap = false
 * fips = false                     # FIPS ECR endpoints; with al2023 also FIPS mode (step 53)
 * cache_images = true
 * extra_images = ["public.ecr.aws/eks-distro/kubernetes/pause:3.10"]
 * base_image = "ami-0123456789abcdef0"
 * containerd_address = "/run/containerd/containerd.sock"   # where images are cached (steps 16-20)
 * image_registry = "127.0.0.1:5000" # pull cached images from here instead of ECR (no ECR login)
 * plain_http = false               # pull from image_registry over plain HTTP
 * image_tag_regions = ["us-west-2", "us-east-1"]  # default: every region of the partition
 * al2023 = false                   # the AL2023 phase, steps 39-54 (docs/al2023.md)
 * accelerator = "nvidia"           # nvidia | neuron (implies al2023)
 * efa = false                      # EFA installer and C-state limit (implies al2023)
 * nvidia_driver_version = "580.82.07"
 *
 * [versions.kubernetes."1.32".kubelet.sha256]
 * x86_64 = "..."
 * [versions.artifacts.containerd]
 * version = "2.1.4"
 * ```
 */
import { parse as parseToml } from "smol-toml";
import * as z from "../lib/zod.ts";
import { isImageReference } from "../lib/container_images.ts";
import { ConfigError, UsageError } from "../lib/errors.ts";

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

const schema = z.strictObject({
  kubernetes_version: z.optional(z.string()),
  arch: z.optional(z.enum(["x86_64", "aarch64"])),
  region: z.optional(z.string().check(z.regex(REGION, "an AWS region like us-west-2"))),
  mirror: z.optional(z.url()),
  insecure_mirror: z.optional(z.boolean()),
  package_manager: z.optional(z.enum(["dnf", "yum", "apt", "none"])),
  containerd_source: z.optional(z.enum(["tarball", "package"])),
  keep_swap: z.optional(z.boolean()),
  fips: z.optional(z.boolean()),
  cache_images: z.optional(z.boolean()),
  extra_images: z.optional(z.array(
    z.string().check(z.refine(
      isImageReference,
      "an image reference like public.ecr.aws/eks-distro/kubernetes/pause:3.10",
    )),
  )),
  // Recorded in /etc/eks/release, which shells source and eksnode init reads line by line.
  base_image: z.optional(
    z.string().check(z.regex(
      /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}$/,
      "an image id or name like ami-0123456789abcdef0",
    )),
  ),
  containerd_address: z.optional(
    z.string().check(z.regex(/^\/[A-Za-z0-9._@+\/-]*$/, "an absolute path to containerd's socket")),
  ),
  image_registry: z.optional(
    z.string().check(z.regex(
      /^[A-Za-z0-9.-]+(:\d+)?(\/[a-z0-9._\/-]+)?$/,
      "a registry host[:port][/path]",
    )),
  ),
  plain_http: z.optional(z.boolean()),
  image_tag_regions: z.optional(z.array(z.string().check(z.regex(REGION, "an AWS region like us-west-2")))),
  al2023: z.optional(z.boolean()),
  accelerator: z.optional(z.enum(["nvidia", "neuron"])),
  efa: z.optional(z.boolean()),
  nvidia_driver_version: z.optional(
    z.string().check(z.regex(/^\d+\.\d+(\.\d+)?$/, "an NVIDIA driver version like 580.82.07")),
  ),
  versions: z.optional(z.record(z.string(), z.unknown())),
});

/** The parsed bake config. */
export type BakeConfig = z.infer<typeof schema>;

/**
 * Checks a value given by a flag (or the environment) with the bake config's rule for the same key;
 * `where` names its source in the error
 * (a flag: usage, exit 2; the environment: config, exit 3).
 * @example checkBakeValue("region", "us-west-2", "--region")
 */
export function checkBakeValue<K extends keyof BakeConfig>(
  key: K,
  value: BakeConfig[K],
  where: string,
): void {
  const r = schema.shape[key].safeParse(value);
  if (!r.success) {
    const message = `${where}: ${JSON.stringify(value)}: ${r.error.issues[0].message}`;
    // A flag's value is a usage error (exit 2) like every bad flag value; the environment's is config.
    throw where.startsWith("--") ? new UsageError(message) : new ConfigError(message);
  }
}

/** Parses and validates bake config text; errors name the file, the key and (for TOML syntax) the line. */
export function parseBakeConfig(text: string, where: string): BakeConfig {
  let data: unknown;
  try {
    data = parseToml(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.path.join(".") || "(top level)";
    throw new ConfigError(`${where}: ${path}: ${issue.message}`, "see docs/ami.md, 'Bake config'");
  }
  return r.data;
}
