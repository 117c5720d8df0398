/**
 * The golden cases as roots the validators can run in: tests/golden/ami/full-bake is the baked
 * image (its tree/ with the modes its LISTING records); each tests/golden/init/<case> is that image
 * with the case's expected/ files (modes from its MODES) laid over it, as `eksnode init` leaves a node. The
 * `*.wants/` links the goldens record are not created: they are what `systemctl enable` must make.
 */
import { tempDir } from "../../../fakes/temp.ts";
import { dirname, join } from "node:path";
import { GOLDEN_ROOT } from "../golden.ts";
import { walkTree } from "../helpers.ts";
import { SOCI_DEPENDENCY_DROPIN } from "../../../eks/paths/node.ts";
import { addBaseOs } from "./systemd.ts";

/** One golden case. */
export interface GoldenCase {
  /** e.g. "ami/full-bake", "init/ipv6". */
  name: string;
  kind: "ami" | "init";
}

/** A golden case laid out as a root in a temp directory. */
export interface GoldenRoot {
  case: GoldenCase;
  root: string;
  /** Paths (inside the root) of the files this case wrote. */
  files: string[];
  /** The `*.wants/` links the case records, as "multi-user.target.wants/kubelet.service". */
  wants: string[];
  remove(): Promise<void>;
}

const AMI = "ami/full-bake";
/** Files of a golden case directory that describe it rather than being written by it. */
const META = new Set(["MODES", "STDOUT", "STDERR", "LISTING", "PLAN.txt"]);

/** Every golden case: the full bake, then every init case (tests/golden/init/<case>/expected). */
export async function goldenCases(): Promise<GoldenCase[]> {
  const out: GoldenCase[] = [{ name: AMI, kind: "ami" }];
  for await (const c of Deno.readDir(join(GOLDEN_ROOT, "init"))) {
    if (c.isDirectory) out.push({ name: `init/${c.name}`, kind: "init" });
  }
  return out.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "ami" ? -1 : 1));
}

/** The files of a golden case (its top-level META files left out), as in-root paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const isMeta = (p: string) => p.lastIndexOf("/") === 0 && META.has(p.slice(1));
  for await (const { path, info } of walkTree(dir, isMeta)) if (!info.isDirectory) out.push(path);
  return out;
}

interface Recorded {
  modes: Map<string, number>;
  links: { path: string; target: string }[];
}

/** Modes and links from a LISTING ("file 0644 0:0 /p (N B)", "link /p -> t") or MODES ("0644 /p"). */
function recorded(text: string): Recorded {
  const modes = new Map<string, number>();
  const links: { path: string; target: string }[] = [];
  for (const line of text.split("\n")) {
    const link = /^link (\S+) -> (\S+)$/.exec(line);
    if (link) {
      links.push({ path: link[1], target: link[2] });
      continue;
    }
    const m = /^(?:file )?([0-7]{4}) (?:\S+ )?(\/\S+)/.exec(line);
    if (m) modes.set(m[2], parseInt(m[1], 8));
  }
  return { modes, links };
}

async function layOut(src: string, root: string, rec: Recorded): Promise<string[]> {
  const files = await filesUnder(src);
  for (const f of files) {
    const to = `${root}${f}`;
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(join(src, f), to);
    await Deno.chmod(to, rec.modes.get(f) ?? 0o644);
  }
  for (const l of rec.links) {
    if (/\.(wants|requires)\//.test(l.path)) continue;
    const at = `${root}${l.path}`;
    await Deno.mkdir(dirname(at), { recursive: true });
    await Deno.remove(at).catch(() => {});
    await Deno.symlink(l.target, at);
  }
  return files;
}

function wantsOf(rec: Recorded): string[] {
  return rec.links
    .filter((l) => /^\/etc\/systemd\/system\/[^/]+\.(wants|requires)\/[^/]+$/.test(l.path))
    .map((l) => l.path.slice("/etc/systemd/system/".length))
    .sort();
}

/** Lays out one golden case as a root in a new temp directory (with a base OS for systemd). */
export async function goldenRoot(c: GoldenCase): Promise<GoldenRoot> {
  const root = await tempDir({ prefix: `eksnode-golden-${c.name.replace("/", "-")}-` });
  try {
    const amiDir = join(GOLDEN_ROOT, AMI);
    const amiRec = recorded(await Deno.readTextFile(join(amiDir, "LISTING")));
    let files = await layOut(join(amiDir, "tree"), root, amiRec);
    let wants = wantsOf(amiRec);
    if (c.kind === "init") {
      const dir = join(GOLDEN_ROOT, c.name, "expected");
      const rec = recorded(await Deno.readTextFile(join(dir, "MODES")));
      files = await layOut(dir, root, rec);
      wants = wantsOf(rec);
      // A case with FastImagePull in effect ran on an image with the SOCI snapshotter, which eksnode's bake
      // does not install (init only uses it where its unit exists): a stand-in unit, as that image had.
      if (files.includes(SOCI_DEPENDENCY_DROPIN)) await addSociSnapshotter(root);
    }
    await addBaseOs(root);
    return {
      case: c,
      root,
      files: files.sort(),
      wants,
      remove: () => Deno.remove(root, { recursive: true }),
    };
  } catch (err) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** The SOCI snapshotter's unit and binary (stand-ins), where an image with the snapshotter has them. */
async function addSociSnapshotter(root: string): Promise<void> {
  await Deno.mkdir(`${root}/usr/lib/systemd/system`, { recursive: true });
  await Deno.writeTextFile(
    `${root}/usr/lib/systemd/system/soci-snapshotter.service`,
    "[Unit]\nDescription=SOCI snapshotter (stand-in)\n[Service]\nType=notify\nExecStart=/usr/bin/soci-snapshotter-grpc\n",
  );
  await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
  await Deno.writeTextFile(`${root}/usr/bin/soci-snapshotter-grpc`, "#!/bin/sh\n", { mode: 0o755 });
}
