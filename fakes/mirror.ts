/**
 * A loopback artifact mirror for tests and the demo. It serves synthetic (small, harmless) artifacts
 * at the mirror layout `MIRROR/<upstream host>/<upstream path>` for every download `eksnode ami`
 * makes, with their published checksum files, and returns a bake config (TOML) that pins their
 * SHA-256 values. `tamper` serves other bytes than the pinned ones, as a compromised mirror would.
 */
import { createHash } from "node:crypto";
import {
  type Arch,
  ARTIFACT_NAMES,
  type ArtifactName,
  githubArtifact,
  kubernetesArtifact,
  type KubernetesComponent,
  kubernetesRelease,
  versions,
} from "../assets/versions.ts";
import { serveFetchable } from "./common.ts";
import { makeTar } from "./tar_writer.ts";

/** Names of the artifacts the mirror serves. */
export type MirrorArtifact = KubernetesComponent | ArtifactName;

/** Options for {@link startMirror}. */
export interface MirrorOptions {
  kubernetesVersion?: string;
  arch?: Arch;
  /** Serve corrupted bytes for these (the pinned checksum stays that of the good bytes). */
  tamper?: MirrorArtifact[];
  /** Delay every response for these artifacts (ms): lets a test kill a run mid-download. */
  delay?: Partial<Record<MirrorArtifact, number>>;
  /** Serve these bytes instead of the synthetic ones (pinned like them): the boot test's real programs. */
  replace?: Partial<Record<MirrorArtifact, Uint8Array>>;
  /**
   * Pad these artifacts' main executable with about this many MiB of shell comment lines (pseudo-random
   * text, so gzip keeps most of it): real-sized downloads for the bench. Default: no padding.
   */
  padMiB?: Partial<Record<MirrorArtifact, number>>;
  /** Address to listen on (default 127.0.0.1); the URL and the bake config name it. */
  hostname?: string;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const enc = new TextEncoder();
const script = (name: string, version: string, padMiB = 0) =>
  enc.encode(
    `#!/bin/sh\n# synthetic ${name} for eksnode tests; not the real binary\necho "${name} ${version}"\n` +
      padding(padMiB),
  );

/** About `mib` MiB of comment lines of pseudo-random base64 text (deterministic per size). */
function padding(mib: number): string {
  if (mib <= 0) return "";
  const line = 76;
  const lines: string[] = [];
  let x = 0x2545f491 ^ mib;
  const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const row = new Array<string>(line);
  for (let n = 0; n < (mib * 1048576) / (line + 2); n++) {
    for (let i = 0; i < line; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      row[i] = b64[x & 63];
    }
    lines.push(`#${row.join("")}\n`);
  }
  return lines.join("");
}

/** Synthetic bytes for each artifact. */
async function build(
  kv: string,
  arch: Arch,
  pad: Partial<Record<MirrorArtifact, number>> = {},
): Promise<Record<MirrorArtifact, Uint8Array>> {
  const rel = kubernetesRelease(kv);
  const a = versions.artifacts;
  return {
    kubelet: script("kubelet", `v${rel.kubelet.version}-eks`, pad.kubelet),
    awsIamAuthenticator: script(
      "aws-iam-authenticator",
      rel.awsIamAuthenticator?.version ?? "none",
      pad.awsIamAuthenticator,
    ),
    ecrCredentialProvider: script(
      "ecr-credential-provider",
      rel.ecrCredentialProvider?.version ?? "none",
      pad.ecrCredentialProvider,
    ),
    runc: script("runc", `${a.runc.version} ${arch}`, pad.runc),
    containerd: await makeTar([
      { name: "bin/", type: "dir" },
      ...["containerd", "containerd-shim-runc-v2", "ctr", "containerd-stress"].map((n) => ({
        name: `bin/${n}`,
        data: script(n, a.containerd.version, n === "containerd" ? pad.containerd : 0),
        mode: 0o755,
      })),
    ]),
    cniPlugins: await makeTar([
      { name: "./", type: "dir" },
      ...["bridge", "host-local", "loopback", "portmap", "bandwidth", "dhcp"].map((n) => ({
        name: `./${n}`,
        data: script(n, a.cniPlugins.version, n === "bridge" ? pad.cniPlugins : 0),
        mode: 0o755,
      })),
      { name: "./LICENSE", data: "Apache-2.0 (synthetic)\n", mode: 0o644 },
    ]),
    // The release tarball's layout: the two binaries and license files at the top.
    sociSnapshotter: await makeTar([
      ...["soci", "soci-snapshotter-grpc"].map((n) => ({
        name: n,
        data: script(n, a.sociSnapshotter.version),
        mode: 0o755,
      })),
      { name: "NOTICE.md", data: "synthetic notice\n", mode: 0o644 },
      { name: "THIRD_PARTY_LICENSES", data: "synthetic licenses\n", mode: 0o644 },
    ]),
    efaInstaller: await makeTar([
      { name: "aws-efa-installer/", type: "dir" },
      {
        name: "aws-efa-installer/efa_installer.sh",
        data: script("efa_installer.sh", a.efaInstaller.version),
        mode: 0o755,
      },
    ]),
  };
}

/** A running mirror. */
export interface Mirror {
  url: string;
  /** Bake config TOML pinning every served artifact's checksum (and the mirror URL). */
  bakeToml: string;
  artifacts: Record<MirrorArtifact, { upstream: string; path: string; sha256: string }>;
  /** Requests by path. */
  hits: Record<string, number>;
  close(): Promise<void>;
}

/** Starts the mirror on 127.0.0.1 (or `hostname`), at a random port. */
export async function startMirror(opts: MirrorOptions = {}): Promise<Mirror> {
  const kv = opts.kubernetesVersion ?? versions.defaultKubernetesVersion;
  const arch = opts.arch ?? "x86_64";
  const rel = kubernetesRelease(kv);
  const bodies = { ...await build(kv, arch, opts.padMiB), ...opts.replace };
  const files = new Map<string, { body: Uint8Array; artifact?: MirrorArtifact }>();
  const artifacts = {} as Mirror["artifacts"];
  const pins: string[] = [];
  const toPath = (u: string) => `/${new URL(u).host}${new URL(u).pathname}`;
  const names: MirrorArtifact[] = [
    "kubelet",
    "awsIamAuthenticator",
    "ecrCredentialProvider",
    ...ARTIFACT_NAMES,
  ];
  for (const name of names) {
    if ((name === "awsIamAuthenticator" || name === "ecrCredentialProvider") && !rel[name]) continue;
    const r = (ARTIFACT_NAMES as readonly string[]).includes(name)
      ? githubArtifact(versions, name as ArtifactName, arch)
      : kubernetesArtifact(versions, kv, name as KubernetesComponent, arch);
    const good = bodies[name];
    const hash = sha(good);
    const served = opts.tamper?.includes(name)
      ? new Uint8Array([...good, ...enc.encode("# tampered\n")])
      : good;
    const path = toPath(r.url);
    files.set(path, { body: served, artifact: name });
    const fileName = path.split("/").pop();
    if (r.checksumUrl) files.set(toPath(r.checksumUrl), { body: enc.encode(`${hash}  ${fileName}\n`) });
    artifacts[name] = { upstream: r.url, path, sha256: hash };
    pins.push(`${r.path.replace(/\.(x86_64|aarch64)$/, "")}.${arch} = "${hash}"`);
  }
  const hits: Record<string, number> = {};
  let closing = () => {};
  const closed = new Promise<void>((r) => closing = r);
  const hostname = opts.hostname ?? "127.0.0.1";
  const server = serveFetchable({ hostname }, async (req) => {
    const path = new URL(req.url).pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const f = files.get(path);
    if (!f) return new Response("not in mirror\n", { status: 404 });
    const delay = f.artifact ? opts.delay?.[f.artifact] : undefined;
    if (delay) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => timer = setTimeout(r, delay)), closed]);
      clearTimeout(timer);
    }
    return new Response(f.body as Uint8Array<ArrayBuffer>, {
      headers: { "content-length": String(f.body.length) },
    });
  });
  const url = `http://${hostname}:${(server.addr as Deno.NetAddr).port}`;
  // TOML keys: kubernetes."1.32".kubelet.sha256.x86_64 = "…" under [versions].
  const bakeToml = [
    `# bake config written by the test mirror: pins the synthetic artifacts it serves`,
    `kubernetes_version = "${kv}"`,
    `arch = "${arch}"`,
    `mirror = "${url}"`,
    `package_manager = "none"`,
    ``,
    `[versions]`,
    ...pins,
    ``,
  ].join("\n");
  return {
    url,
    bakeToml,
    artifacts,
    hits,
    close: () => {
      closing();
      return server.shutdown();
    },
  };
}
