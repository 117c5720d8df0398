/**
 * NodeConfig feature gate `FastImagePull`: containerd pulls through the SOCI snapshotter's parallel
 * pull-and-unpack mode.
 *
 * Sources (awslabs/amazon-eks-ami nodeadm @ 81fec2e8):
 * - `nodeadm/internal/containerd/config.go` `UseSOCISnapshotter`: the gate is on (default off,
 *   internal/api/featuregates.go) and the node has at least 7 GiB of memory and 4 CPUs ("usable on most
 *   xlarge instance types"; the memory threshold is below 8 GiB because the kernel shows less than the
 *   instance's size); `writeSnapshotterConfig` writes
 *   `snapshotter/soci-snapshotter.config.toml` (copied to assets/containerd/) to
 *   /etc/soci-snapshotter-grpc/config.toml; both config templates then set `snapshotter = "soci"`,
 *   `disable_snapshot_annotations = false` and the `soci` proxy plugin.
 * - `nodeadm/internal/containerd/sandbox_image.go`: the containerd.service drop-in
 *   10-soci-snapshotter.conf that requires and orders after soci-snapshotter.service.
 * - `nodeadm/internal/system/local_disk.go`: `disabledMounts: [SOCI]` → setup-local-disks
 *   `--no-bind-soci` (/var/lib/soci-snapshotter-grpc stays on the root volume).
 *
 * Where eksnode differs: memory is MemTotal of /proc/meminfo (nodeadm adds up the online memory blocks of
 * /sys/devices/system/memory, a little more; the 7 GiB threshold has room for either), and the gate only
 * takes effect where soci-snapshotter.service is installed: `eksnode ami` bakes the SOCI snapshotter
 * only with its AL2023 phase (steps 42-43, docs/al2023.md), and containerd with a required unit that does
 * not exist would not start.
 */
import sociConfigText from "../../assets/containerd/soci-snapshotter.config.toml" with { type: "text" };
import { SOCI_CONFIG as SOCI_CONFIG_PATH, SOCI_DEPENDENCY_DROPIN } from "../paths/node.ts";

export { SOCI_CONFIG_PATH, SOCI_DEPENDENCY_DROPIN };

/** The feature gate. */
export const FAST_IMAGE_PULL_GATE = "FastImagePull";
/** The snapshotter's unit. */
export const SOCI_SERVICE = "soci-snapshotter.service";
/** The snapshotter's gRPC socket (containerd's proxy plugin address). */
export const SOCI_SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock";
/** The snapshotter's state directory (bind-mounted onto local disks unless disabledMounts has SOCI). */
export const SOCI_ROOT = "/var/lib/soci-snapshotter-grpc";
/** The snapshotter's config (nodeadm's, as it is). */
export const SOCI_CONFIG_TEXT: string = sociConfigText;
/** The drop-in's text (nodeadm's). */
export const SOCI_DEPENDENCY_DROPIN_TEXT =
  "[Unit]\nRequires=soci-snapshotter.service\nAfter=soci-snapshotter.service\n";

const GIBIBYTE = 1024 * 1024 * 1024;

/** What decides whether the SOCI snapshotter is used. */
export interface SociFacts {
  /** NodeConfig featureGates.FastImagePull. */
  gate: boolean;
  /** Memory of the node in bytes (MemTotal), when known. */
  memoryBytes?: number;
  /** Online CPUs. */
  cpus: number;
  /** soci-snapshotter.service is installed on the node. */
  installed: boolean;
}

/**
 * Whether containerd uses the SOCI snapshotter, and why not when it does not (undefined when the gate is off).
 * @example useSociSnapshotter({ gate: true, memoryBytes: 16 * 2 ** 30, cpus: 4, installed: true }) // { use: true }
 */
export function useSociSnapshotter(f: SociFacts): { use: boolean; why?: string } {
  if (!f.gate) return { use: false };
  if (f.memoryBytes === undefined || f.memoryBytes < 7 * GIBIBYTE || f.cpus < 4) {
    const mem = f.memoryBytes === undefined
      ? "unknown memory"
      : `${(f.memoryBytes / GIBIBYTE).toFixed(1)} GiB`;
    return {
      use: false,
      why: `${FAST_IMAGE_PULL_GATE} needs at least 7 GiB and 4 CPUs; this node has ${mem}, ${f.cpus} CPUs`,
    };
  }
  if (!f.installed) {
    return { use: false, why: `${FAST_IMAGE_PULL_GATE}: ${SOCI_SERVICE} is not installed on this image` };
  }
  return { use: true };
}

/** MemTotal of a /proc/meminfo text in bytes, or undefined. */
export function memTotalBytes(meminfo: string): number | undefined {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}
