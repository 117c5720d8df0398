/**
 * A containerd config in the version-2 schema rewritten in the version-3 schema, as containerd 2 migrates
 * it (`containerd config migrate`, and in memory whenever it loads a version-2 file). nodeadm runs
 * `containerd config migrate` on containerd 2 nodes whose NodeConfig `containerd.config` is version 2
 * (nodeadm/internal/containerd/config.go `writeContainerdConfig` @ 81fec2e8); eksnode does the same
 * migration itself, so the result does not depend on a containerd binary being runnable under `--root`,
 * and writes only the keys that are set (containerd's command also writes out every default).
 *
 * The rules are containerd's `configMigration` of the two CRI plugins (containerd/containerd
 * plugins/cri/images/plugin.go @ 00fe7a49 and plugins/cri/runtime/plugin.go @ 04d0bebd):
 * - images (`io.containerd.cri.v1.images`): `sandbox_image` → `pinned_images.sandbox`; `snapshotter`,
 *   `disable_snapshot_annotations`, `discard_unpacked_layers` from the `containerd` table; `registry`,
 *   `image_decryption`, `max_concurrent_downloads`, `image_pull_progress_timeout`,
 *   `image_pull_with_sync_fs`, `stats_collect_period` from the CRI table; keys already in the version-3
 *   table are overwritten by the migrated ones;
 * - runtime (`io.containerd.cri.v1.runtime`): every other CRI key except the streaming server's
 *   (`disable_tcp_service`, `stream_server_address`, `stream_server_port`, `stream_idle_timeout`,
 *   `enable_tls_streaming`, `x509_key_pair_streaming`, which stay in `io.containerd.grpc.v1.cri`), the `cni`
 *   and `containerd` tables key by key (the images keys left out), a runtime's `sandbox_mode` renamed
 *   `sandboxer`; here keys already in the version-3 table win.
 *
 * Differences from containerd's code, on purpose:
 * - `cni.bin_dir` stays `bin_dir` (containerd 2.2 moves it into `bin_dirs`; containerd 2.0 and 2.1, which
 *   eksnode installs, read `bin_dir`, and nodeadm's recorded migration keeps `bin_dir`);
 * - a runtime's snapshotter is not copied into `runtime_platform` (containerd looks for a `snapshot` key no
 *   version-2 config has; its per-runtime `snapshotter` is kept under the runtime, which containerd 2 reads);
 * - the keys that move are removed from `io.containerd.grpc.v1.cri` (containerd keeps them in its map but
 *   no plugin reads them there; the table would only mislead a reader of the file).
 */

type Obj = Record<string, unknown>;

/** The version-2 CRI plugin. */
export const CRI_V2 = "io.containerd.grpc.v1.cri";
/** The version-3 CRI image service plugin. */
export const CRI_IMAGES = "io.containerd.cri.v1.images";
/** The version-3 CRI runtime plugin. */
export const CRI_RUNTIME = "io.containerd.cri.v1.runtime";

const IMAGES_FROM_CONTAINERD = ["snapshotter", "disable_snapshot_annotations", "discard_unpacked_layers"];
const IMAGES_FROM_CRI = [
  "registry",
  "image_decryption",
  "max_concurrent_downloads",
  "image_pull_progress_timeout",
  "image_pull_with_sync_fs",
  "stats_collect_period",
];
/** CRI keys the gRPC CRI plugin keeps in version 3 (its streaming server). */
export const CRI_SERVER_KEYS = [
  "disable_tcp_service",
  "stream_server_address",
  "stream_server_port",
  "stream_idle_timeout",
  "enable_tls_streaming",
  "x509_key_pair_streaming",
];

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * A parsed version-2 config in the version-3 schema (a new object; `config` is not changed). A config
 * that is not version 2 (or has no version: containerd reads that as 1, whose plugin names eksnode never
 * writes) is returned as a copy with only `version` set to 3.
 * @example migrateToVersion3({ version: 2, plugins: { "io.containerd.grpc.v1.cri": { sandbox_image: "p" } } })
 * // { version: 3, plugins: { "io.containerd.cri.v1.images": { pinned_images: { sandbox: "p" } } } }
 */
export function migrateToVersion3(config: Obj): Obj {
  const out = structuredClone(config);
  out.version = 3;
  if (config.version !== 2 || !isObj(out.plugins) || !isObj(out.plugins[CRI_V2])) return out;
  const plugins = out.plugins;
  const src = plugins[CRI_V2] as Obj;
  const images: Obj = isObj(plugins[CRI_IMAGES]) ? plugins[CRI_IMAGES] as Obj : {};
  const runtime: Obj = isObj(plugins[CRI_RUNTIME]) ? plugins[CRI_RUNTIME] as Obj : {};
  const containerd = isObj(src.containerd) ? src.containerd : undefined;

  // The images plugin.
  if (src.sandbox_image !== undefined) {
    images.pinned_images = {
      ...(isObj(images.pinned_images) ? images.pinned_images : {}),
      sandbox: src.sandbox_image,
    };
  }
  for (const k of IMAGES_FROM_CONTAINERD) if (containerd && k in containerd) images[k] = containerd[k];
  for (const k of IMAGES_FROM_CRI) if (k in src) images[k] = src[k];

  // The runtime plugin.
  for (const [k, v] of Object.entries(src)) {
    if (k === "cni" || k === "containerd" || k === "sandbox_image" || IMAGES_FROM_CRI.includes(k)) continue;
    if (CRI_SERVER_KEYS.includes(k)) continue;
    if (!(k in runtime)) runtime[k] = v;
  }
  if (isObj(src.cni)) {
    const cni: Obj = isObj(runtime.cni) ? runtime.cni : {};
    for (const [k, v] of Object.entries(src.cni)) if (!(k in cni)) cni[k] = v;
    runtime.cni = cni;
  }
  if (containerd) {
    const table: Obj = isObj(runtime.containerd) ? runtime.containerd : {};
    for (const [k, v] of Object.entries(containerd)) {
      if (!IMAGES_FROM_CONTAINERD.includes(k) && !(k in table)) table[k] = v;
    }
    runtime.containerd = table;
    if (isObj(table.runtimes)) {
      for (const rt of Object.values(table.runtimes)) {
        if (isObj(rt) && "sandbox_mode" in rt && !("sandboxer" in rt)) {
          rt.sandboxer = rt.sandbox_mode;
          delete rt.sandbox_mode;
        }
      }
    }
  }

  // What stays in the gRPC CRI plugin: its streaming server settings.
  const server: Obj = {};
  for (const k of CRI_SERVER_KEYS) if (k in src) server[k] = src[k];
  if (Object.keys(server).length > 0) plugins[CRI_V2] = server;
  else delete plugins[CRI_V2];
  if (Object.keys(images).length > 0) plugins[CRI_IMAGES] = images;
  if (Object.keys(runtime).length > 0) plugins[CRI_RUNTIME] = runtime;
  return out;
}
