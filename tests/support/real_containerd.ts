/**
 * Real components for tests that need them: a containerd of its own (root, state and socket in a temp
 * dir, never the machine's) and a docker-registry on 127.0.0.1 (optionally with htpasswd basic auth),
 * holding tiny images built with umoci and pushed with skopeo. Each start function returns a `stop`
 * that ends exactly the process it started.
 */

import { onPath } from "./helpers.ts";
import { listenFetchable } from "../../fakes/common.ts";

/** Tools the real-component tests need. */
export const CONTAINERD_TOOLS = ["containerd", "ctr"];
/** Tools to build and serve images (htpasswd for a registry that wants a login). */
export const REGISTRY_TOOLS = ["docker-registry", "umoci", "skopeo", "htpasswd"];

/**
 * Why a real-component test cannot run here ("" when it can): a missing tool, or not root (containerd
 * needs root). Prints one line saying what is not checked when it cannot.
 */
export function realComponentsSkip(testName: string, tools: string[]): string {
  const missing: string[] = [];
  for (const t of tools) if (!onPath(t)) missing.push(t);
  const reason = missing.length
    ? `${missing.join(", ")} not installed`
    : Deno.uid() !== 0
    ? "needs root (containerd)"
    : "";
  if (reason) console.warn(`${testName}: ${reason}: the real-component test is skipped`);
  return reason;
}

/** Runs a command, returns stdout, throws with stderr on failure. */
export async function run(argv: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped", env })
    .output();
  if (out.code !== 0) throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** A free loopback port (bind, note, close). */
export function freePort(): number {
  const l = listenFetchable("127.0.0.1");
  const port = l.addr.port;
  l.close();
  return port;
}

/** Polls `probe` every 100 ms until it is true; throws after `ms`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${ms / 1000}s`);
}

async function stopProcess(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGTERM");
  } catch {
    // already gone
  }
  await p.stderr.cancel().catch(() => {});
  await p.status;
}

/** A running private containerd. */
export interface PrivateContainerd {
  /** Its socket. */
  sock: string;
  /** `ctr --address SOCK --namespace NS ...args`, returning stdout. */
  ctr(namespace: string, ...args: string[]): Promise<string>;
  /** Image names in a namespace. */
  images(namespace: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts containerd with root, state and socket under `dir` (CRI off: pulling and tagging need none of it). */
export async function startContainerd(dir: string): Promise<PrivateContainerd> {
  const sock = `${dir}/containerd.sock`;
  await Deno.writeTextFile(
    `${dir}/containerd.toml`,
    // containerd 1.6 on the test machine: version 2 config.
    `version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\naddress = "${sock}"\n`,
  );
  const proc = new Deno.Command("containerd", {
    args: [
      "--config",
      `${dir}/containerd.toml`,
      "--root",
      `${dir}/var/lib/containerd`,
      "--state",
      `${dir}/run/containerd`,
      "--address",
      sock,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const ctr = (namespace: string, ...args: string[]) =>
    run(["ctr", "--address", sock, "--namespace", namespace, ...args]);
  try {
    await waitFor("containerd", async () => {
      await run(["ctr", "--address", sock, "version"]);
      return true;
    });
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return {
    sock,
    ctr,
    images: async (ns) =>
      (await ctr(ns, "images", "ls", "-q")).split("\n").map((l) => l.trim()).filter(Boolean),
    stop: () => stopProcess(proc),
  };
}

/** A running docker-registry. */
export interface PrivateRegistry {
  /** host:port */
  host: string;
  stop(): Promise<void>;
}

/** Registry login a test registry demands. */
export interface RegistryAuth {
  user: string;
  password: string;
}

/** Options of {@link startRegistry}. */
export interface RegistryOptions {
  /** The registry then answers 401 without this login (htpasswd file made with `htpasswd -B`, bcrypt). */
  auth?: RegistryAuth;
}

/** Starts docker-registry on 127.0.0.1 with its storage under `dir`. */
export async function startRegistry(dir: string, opts: RegistryOptions = {}): Promise<PrivateRegistry> {
  const port = freePort();
  await Deno.mkdir(`${dir}/registry`, { recursive: true });
  const auth: string[] = [];
  if (opts.auth) {
    const hash = await run(["htpasswd", "-Bbn", opts.auth.user, opts.auth.password]);
    await Deno.writeTextFile(`${dir}/htpasswd`, hash.trim() + "\n");
    auth.push("auth:", "  htpasswd:", "    realm: eksnode-test", `    path: ${dir}/htpasswd`);
  }
  await Deno.writeTextFile(
    `${dir}/registry.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/registry`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      ...auth,
      "",
    ].join("\n"),
  );
  const proc = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/registry.yml`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await waitFor("docker-registry", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      await r.body?.cancel();
      return r.ok || r.status === 401;
    });
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return { host: `127.0.0.1:${port}`, stop: () => stopProcess(proc) };
}

/** Builds one tiny OCI image layout (for this machine's architecture) with umoci at `${dir}/oci:tiny`; returns the layout path. */
export async function buildTinyImage(
  dir: string,
  text = "a tiny image for eksnode's tests\n",
): Promise<string> {
  const layout = `${dir}/oci`;
  await run(["umoci", "init", "--layout", layout]);
  await run(["umoci", "new", "--image", `${layout}:tiny`]);
  await run(["umoci", "unpack", "--image", `${layout}:tiny`, `${dir}/bundle`]);
  await Deno.writeTextFile(`${dir}/bundle/rootfs/hello.txt`, text);
  await run(["umoci", "repack", "--image", `${layout}:tiny`, `${dir}/bundle`]);
  await run([
    "umoci",
    "config",
    "--image",
    `${layout}:tiny`,
    "--config.cmd",
    "/hello.txt",
    "--os",
    "linux",
    "--architecture",
    Deno.build.arch === "aarch64" ? "arm64" : "amd64",
  ]);
  return layout;
}

/** Builds a tiny image and pushes it to `registry` under each name (`repo:tag`), with `auth` when given. */
export async function pushTinyImage(
  dir: string,
  registry: string,
  names: string[],
  auth?: RegistryAuth,
): Promise<void> {
  const layout = await buildTinyImage(dir);
  for (const n of names) {
    await run([
      "skopeo",
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      ...(auth ? ["--dest-creds", `${auth.user}:${auth.password}`] : []),
      `oci:${layout}:tiny`,
      `docker://${registry}/${n}`,
    ]);
  }
}

/** Imports a tiny image into a private containerd's namespace as `name` (an OCI archive made by skopeo). */
export async function importTinyImage(dir: string, c: PrivateContainerd, namespace: string, name: string) {
  const layout = await buildTinyImage(dir);
  const archive = `${dir}/tiny.tar`;
  await run(["skopeo", "copy", "--quiet", `oci:${layout}:tiny`, `oci-archive:${archive}:${name}`]);
  await c.ctr(namespace, "images", "import", "--base-name", name.replace(/:[^:/]+$/, ""), archive);
}
