/**
 * Boots a root directory with `systemd-nspawn -b` for the boot test and runs commands inside it with
 * nsenter (all namespaces of the container's PID 1). The container is not registered with machined;
 * where this machine's PID 1 is not systemd (no bus to ask for a scope), nspawn keeps the caller's
 * cgroup (--keep-unit). It gets a network namespace of its own (only `lo`: a new one, or one a process
 * serving fakes made beforehand), so the sysctls under /proc/sys/net are the container's own and
 * writable, and systemd-sysctl applies them at boot without touching this machine's.
 */

/** A read-only bind mount into the container. */
export interface Bind {
  from: string;
  to: string;
}

/** Output of a command run inside. */
export interface InsideResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A booted container. */
export interface Container {
  machine: string;
  /** PID (in this machine's namespace) of the container's systemd. */
  leader: number;
  /** Path of the container's network namespace, for `nsenter --net=`. */
  netns: string;
  /** Runs argv inside (PID, mount, network, IPC, UTS and cgroup namespaces of the container). */
  exec(argv: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<InsideResult>;
  /** Runs argv inside and returns stdout; a non-zero exit throws with the output. */
  check(argv: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<string>;
  /** The last lines nspawn printed (the container's console). */
  console(): string;
  /** Powers the container off (SIGTERM to nspawn), kills it if that takes too long, removes leftovers. */
  stop(): Promise<void>;
}

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const dec = new TextDecoder();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function alive(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  // A zombie (state Z) has exited; its parent has not reaped it yet.
  return stat !== "" && !/^\d+ \(.*\) Z /.test(stat);
}

/** Mount points at or under `prefix` in this mount namespace. */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  // Field 5 is the mount point, with spaces and the like written as octal escapes.
  const points = text.split("\n").filter(Boolean).map((l) =>
    l.split(" ")[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
  );
  return points.filter((p) => p === prefix || p.startsWith(`${prefix}/`)).reverse();
}

/** Unmounts (lazily) every mount at or under `prefix`; returns what it unmounted. */
export async function unmountUnder(prefix: string): Promise<string[]> {
  const found = await mountsUnder(prefix);
  for (const p of found) {
    await new Deno.Command("umount", { args: ["--lazy", p], stdout: "null", stderr: "null" }).output();
  }
  return found;
}

/**
 * Boots `root` (a directory) as machine `machine` with read-only `binds`, in a new network namespace of
 * its own, or in the one at `netnsPath` (e.g. `/proc/PID/ns/net` of a process serving fakes there).
 */
export async function boot(
  root: string,
  machine: string,
  binds: Bind[],
  opts: { netnsPath?: string } = {},
): Promise<Container> {
  const keepUnit = !(await Deno.stat("/run/systemd/system").then(() => true, () => false));
  const child = new Deno.Command("systemd-nspawn", {
    args: [
      "--quiet",
      "--register=no",
      ...(keepUnit ? ["--keep-unit"] : []),
      // With a namespace given, --private-network still makes nspawn mount /proc/sys/net writable.
      "--private-network",
      ...(opts.netnsPath ? [`--network-namespace-path=${opts.netnsPath}`] : []),
      `--machine=${machine}`,
      `--directory=${root}`,
      ...binds.map((b) => `--bind-ro=${b.from}:${b.to}`),
      "--boot",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { SYSTEMD_LOG_COLOR: "0", SYSTEMD_COLORS: "0" },
  }).spawn();
  const lines: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) {
      lines.push(...chunk.split("\n").filter(Boolean));
      if (lines.length > 400) lines.splice(0, lines.length - 400);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  const status = child.status;
  let exited = false;
  status.then(() => exited = true);
  const consoleText = () => lines.slice(-60).join("\n");

  let leader = 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // SIGTERM asks nspawn for an orderly poweroff of the container (SIGRTMIN+3 to its init).
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const deadline = Date.now() + 60_000;
    while (!exited && Date.now() < deadline) await sleep(100);
    if (!exited) {
      // Killing the container's PID 1 ends its whole PID namespace; then nspawn itself.
      if (leader) await Deno.kill(leader, "SIGKILL");
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await status;
    }
    await pumps;
    // nspawn's own mounts live in the container's mount namespace; anything left here is removed.
    await unmountUnder(root);
    for (
      const d of [`/run/systemd/nspawn/propagate/${machine}`, `/run/systemd/nspawn/unix-export/${machine}`]
    ) {
      if ((await mountsUnder(d)).length === 0) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  };

  try {
    // The container's PID 1 is nspawn's child.
    const deadline = Date.now() + 60_000;
    while (!leader) {
      if (exited) throw new Error(`systemd-nspawn exited before the container started:\n${consoleText()}`);
      if (Date.now() > deadline) throw new Error(`no container init after 60s:\n${consoleText()}`);
      const kids = (await Deno.readTextFile(`/proc/${child.pid}/task/${child.pid}/children`).catch(() => ""))
        .trim().split(/\s+/).filter(Boolean).map(Number);
      for (const k of kids) {
        const comm = (await Deno.readTextFile(`/proc/${k}/comm`).catch(() => "")).trim();
        if (comm === "systemd") leader = k;
      }
      if (!leader) await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const exec = async (
    argv: string[],
    opts: { env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<InsideResult> => {
    if (!(await alive(leader))) throw new Error(`container ${machine} is not running:\n${consoleText()}`);
    const out = await new Deno.Command("nsenter", {
      args: [`--target=${leader}`, "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--", ...argv],
      clearEnv: true,
      env: { PATH, LANG: "C.UTF-8", NO_COLOR: "1", SYSTEMD_COLORS: "0", ...opts.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
    }).output();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };

  return {
    machine,
    leader,
    netns: `/proc/${leader}/ns/net`,
    exec,
    async check(argv, opts) {
      const r = await exec(argv, opts);
      if (r.code !== 0) {
        throw new Error(`inside ${machine}: ${argv.join(" ")} exited ${r.code}\n${r.stdout}${r.stderr}`);
      }
      return r.stdout;
    },
    console: consoleText,
    stop,
  };
}

/**
 * Waits until systemd inside has finished booting (`systemctl is-system-running --wait`) and returns
 * its answer ("running", or "degraded" with failed units).
 */
export async function waitBooted(c: Container, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.exec(["systemctl", "is-system-running", "--wait"], { timeoutMs });
    const state = r.stdout.trim();
    if (state === "running" || state === "degraded") return state;
    // Before systemd listens on its socket, systemctl cannot connect: try again.
    if (Date.now() > deadline) {
      throw new Error(`container did not finish booting: ${state} ${r.stderr.trim()}\n${c.console()}`);
    }
    await sleep(200);
  }
}

/**
 * Runs argv in `root` with `systemd-nspawn` without booting it (systemd is not PID 1 inside; nspawn's
 * stub init is, with `--as-pid2`): the place of a container build or a chroot builder. The network is
 * this machine's (no `--private-network`), so the command reaches loopback servers here and the
 * distribution's archive; /proc/sys stays read-only inside. `binds` are read-only.
 */
export async function runInside(
  root: string,
  argv: string[],
  binds: Bind[],
  opts: { env?: Record<string, string>; timeoutMs?: number; resolvConf?: "off" } = {},
): Promise<InsideResult> {
  const keepUnit = !(await Deno.stat("/run/systemd/system").then(() => true, () => false));
  const machine = `eksnode-e2e-run-${crypto.randomUUID().slice(0, 8)}`;
  const out = await new Deno.Command("systemd-nspawn", {
    args: [
      "--quiet",
      "--register=no",
      ...(keepUnit ? ["--keep-unit"] : []),
      "--as-pid2",
      // stdin, stdout and stderr are the pipes below, not a pseudo-terminal: no terminal, as under Packer's
      // shell provisioner or Image Builder (with a terminal, `eksnode ami` on / would ask before it starts).
      "--console=pipe",
      // off: the root's own /etc/resolv.conf (or none), not a copy of this machine's.
      ...(opts.resolvConf ? [`--resolv-conf=${opts.resolvConf}`] : []),
      `--machine=${machine}`,
      `--directory=${root}`,
      ...binds.map((b) => `--bind-ro=${b.from}:${b.to}`),
      ...Object.entries({ PATH, LANG: "C.UTF-8", NO_COLOR: "1", ...opts.env }).map(([k, v]) =>
        `--setenv=${k}=${v}`
      ),
      "--",
      ...argv,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { SYSTEMD_LOG_COLOR: "0", SYSTEMD_COLORS: "0" },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 20 * 60_000),
  }).output();
  await unmountUnder(root);
  for (
    const d of [`/run/systemd/nspawn/propagate/${machine}`, `/run/systemd/nspawn/unix-export/${machine}`]
  ) {
    if ((await mountsUnder(d)).length === 0) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
