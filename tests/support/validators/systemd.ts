/**
 * systemd: `systemd-analyze verify --root=R UNIT...` loads each unit with its drop-ins from the
 * root, the way systemd would on the booted image, and reports unknown keys and sections, bad
 * values, missing or non-executable commands and missing dependencies. Every line it prints is a
 * problem: the root must hold what the base image provides (systemd's targets and slices, the
 * commands our units call from the OS), which {@link addBaseOs} copies from this machine.
 * `systemctl --root=R enable` must make exactly the expected `*.wants/` links.
 */
import { findTool, lines, notChecked, runTool, type Verdict } from "./common.ts";

const UNIT_DIRS = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"];

/** Commands of the base OS that our units call (the image provides them, eksnode does not). */
export const BASE_OS_COMMANDS = ["/usr/bin/mount", "/sbin/modprobe", "/sbin/iptables", "/bin/rm"];

/**
 * Makes `root` look like a base image to systemd: this machine's systemd targets and slices, and a
 * stub executable for each of {@link BASE_OS_COMMANDS} the root lacks.
 */
export async function addBaseOs(root: string): Promise<void> {
  const src = UNIT_DIRS.slice(1).find((d) => {
    try {
      return Deno.statSync(`${d}/multi-user.target`).isFile;
    } catch {
      return false;
    }
  });
  const dst = `${root}/usr/lib/systemd/system`;
  await Deno.mkdir(dst, { recursive: true });
  if (src) {
    for await (const e of Deno.readDir(src)) {
      if (!/\.(target|slice)$/.test(e.name) || !e.isFile) continue;
      try {
        await Deno.lstat(`${dst}/${e.name}`);
      } catch {
        await Deno.copyFile(`${src}/${e.name}`, `${dst}/${e.name}`);
      }
    }
  }
  for (const cmd of BASE_OS_COMMANDS) {
    const path = `${root}${cmd}`;
    try {
      await Deno.lstat(path);
    } catch {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, "#!/bin/sh\n# stands for the base image's command in tests\nexit 0\n", {
        mode: 0o755,
      });
    }
  }
}

/** `systemd-analyze verify` of `units` (names under the root's unit directories) inside `root`. */
export async function verifyUnits(root: string, units: string[]): Promise<Verdict> {
  const tool = "systemd-analyze verify";
  const subject = `${units.join(" ")} in ${root}`;
  const analyze = findTool("systemd-analyze");
  if (!analyze) return notChecked(tool, subject, "systemd-analyze");
  const r = await runTool([analyze, "verify", "--man=no", `--root=${root}`, ...units], {
    SYSTEMD_LOG_COLOR: "0",
  });
  const problems = lines(r.stderr + "\n" + r.stdout).map((l) => l.replaceAll(root, ""));
  if (r.code !== 0 && problems.length === 0) problems.push(`exit ${r.code}`);
  return { tool, subject, problems, notes: [] };
}

/** The `*.wants/` and `*.requires/` links under the root's /etc/systemd/system, as "dir/name". */
export async function wantsLinks(root: string): Promise<string[]> {
  const base = `${root}/etc/systemd/system`;
  const out: string[] = [];
  try {
    for await (const d of Deno.readDir(base)) {
      if (!d.isDirectory || !/\.(wants|requires)$/.test(d.name)) continue;
      for await (const e of Deno.readDir(`${base}/${d.name}`)) {
        if (e.isSymlink) out.push(`${d.name}/${e.name}`);
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/**
 * `systemctl --root=R enable UNIT...`, then the links must be exactly `expected` (e.g.
 * "multi-user.target.wants/kubelet.service"), each pointing at a unit file inside the root.
 */
export async function enableUnits(root: string, units: string[], expected: string[]): Promise<Verdict> {
  const tool = "systemctl --root enable";
  const subject = `${units.join(" ")} in ${root}`;
  const systemctl = findTool("systemctl");
  if (!systemctl) return notChecked(tool, subject, "systemctl");
  const before = new Set(await wantsLinks(root));
  const r = await runTool([systemctl, `--root=${root}`, "enable", ...units]);
  const verdict: Verdict = { tool, subject, problems: [], notes: [] };
  if (r.code !== 0) {
    verdict.problems.push(`exit ${r.code}: ${lines(r.stderr).join(" | ").replaceAll(root, "")}`);
    return verdict;
  }
  const after = await wantsLinks(root);
  const made = after.filter((l) => !before.has(l));
  const have = new Set(after);
  for (const want of expected) if (!have.has(want)) verdict.problems.push(`no link ${want}`);
  for (const got of made) if (!expected.includes(got)) verdict.problems.push(`unexpected link ${got}`);
  for (const l of after) {
    const target = await Deno.readLink(`${root}/etc/systemd/system/${l}`);
    const inRoot = target.startsWith("/")
      ? `${root}${target}`
      : `${root}/etc/systemd/system/${l}/../${target}`;
    try {
      if (!(await Deno.stat(inRoot)).isFile) verdict.problems.push(`${l} -> ${target} is not a unit file`);
    } catch {
      verdict.problems.push(`${l} -> ${target} points at nothing inside the root`);
    }
  }
  return verdict;
}
