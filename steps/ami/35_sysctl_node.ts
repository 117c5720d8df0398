/**
 * Node sysctls in an eksnode-marked block of /etc/sysctl.conf (other content is kept), and
 * swap off: swap lines in /etc/fstab are commented out and, on the running system (not in a container or
 * a chroot, whose swap is the host's: lib/place.ts), `swapoff -a` runs,
 * unless the bake keeps swap (bake.keepSwap, for kubelet's swap support).
 */
import { dir, exec, file, note, symlink } from "../../lib/changes.ts";
import { ConfigError } from "../../lib/errors.ts";
import type { Host } from "../../lib/host.ts";
import { placeOf } from "../../lib/place.ts";
import type { Change } from "../../lib/step.ts";
import type { AmiContext, AmiStepDef } from "./context.ts";
import nodeSysctls from "../../assets/templates/sysctl-node.conf" with { type: "text" };
import { SYSCTL_CONF_LINK } from "../../eks/paths/node.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** First line of the managed block. */
export const BLOCK_BEGIN =
  "# BEGIN eksnode node sysctls (managed by `eksnode ami` step 35; edits inside are replaced)";
/** Last line of the managed block. */
export const BLOCK_END = "# END eksnode node sysctls";

/** The managed block, markers included, ending in a newline. */
export function sysctlBlock(body: string = nodeSysctls): string {
  return `${BLOCK_BEGIN}\n${body.trimEnd()}\n${BLOCK_END}\n`;
}

/**
 * Puts `block` into `text`: replaces an existing marked block in place, or appends it (after a blank
 * line) when there is none. Everything outside the markers is kept byte for byte.
 * @example upsertBlock("kernel.foo=1\n", sysctlBlock()) // "kernel.foo=1\n\n# BEGIN eksnode …"
 */
export function upsertBlock(
  text: string,
  block: string,
  where = "/etc/sysctl.conf",
  begin = BLOCK_BEGIN,
  end = BLOCK_END,
): string {
  const lines = text.split("\n");
  const b = lines.findIndex((l) => l.startsWith(begin.split(" (")[0]));
  const e = b === -1 ? -1 : lines.findIndex((l, i) => i > b && l.trim() === end);
  if (b !== -1 && e === -1) {
    throw new ConfigError(
      `the eksnode block in ${where} has its BEGIN line (line ${b + 1}) but no "${end}" line`,
      `add the END line after the block or delete the block; eksnode then writes it again`,
    );
  }
  if (b !== -1) {
    const before = lines.slice(0, b).join("\n");
    const after = lines.slice(e + 1).join("\n");
    return (before ? before + "\n" : "") + block + after;
  }
  if (text === "") return block;
  return text.endsWith("\n") ? `${text}\n${block}` : `${text}\n\n${block}`;
}

/** Prefix of an /etc/fstab swap line this step commented out. */
export const SWAP_COMMENT = "# swap disabled by eksnode (kubelet needs swap off): ";

/**
 * Comments out every active swap entry of an fstab text (third field `swap`); other lines, comments
 * and already disabled entries stay as they are, so a second pass changes nothing.
 */
export function disableSwapEntries(fstab: string): { text: string; disabled: string[] } {
  const disabled: string[] = [];
  const out = fstab.split("\n").map((line) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return line;
    const fields = t.split(/\s+/);
    if (fields[2] !== "swap") return line;
    disabled.push(fields[0]);
    return SWAP_COMMENT + line;
  });
  return { text: out.join("\n"), disabled };
}

/** True when /proc/swaps (of the running system) lists no active swap. */
async function noActiveSwap(host: Host): Promise<boolean> {
  const text = await host.readText("/proc/swaps");
  if (text === undefined) return true;
  return text.split("\n").slice(1).every((l) => l.trim() === "");
}

async function swapChanges(ctx: AmiContext): Promise<Change[]> {
  if (ctx.bake.keepSwap) return [note("swap kept on: the bake config sets keep_swap (kubelet swap support)")];
  const out: Change[] = [];
  const { host } = ctx;
  const fstab = await host.readText("/etc/fstab");
  if (fstab !== undefined) {
    const { text, disabled } = disableSwapEntries(fstab);
    if (disabled.length) {
      const mode = (await host.stat("/etc/fstab"))?.mode ?? 0o644;
      out.push(file("/etc/fstab", text, { mode }));
    }
  }
  const cannot = (await placeOf(host)).swap;
  if (!cannot) {
    out.push(exec(["swapoff", "-a"], {
      why: "kubelet refuses to start with swap on (failSwapOn)",
      key: "swap:off",
      check: ({ host }) => noActiveSwap(host),
    }));
  } else {
    out.push(
      note(
        `swapoff -a skipped: ${cannot} (swap entries in ${
          host.isSystemRoot ? "" : "its "
        }/etc/fstab are commented out instead)`,
      ),
    );
  }
  return out;
}

/** Write node sysctls to /etc/sysctl.conf and turn swap off. */
export const step: AmiStepDef = {
  title: "Node sysctls in /etc/sysctl.conf; swap off",
  group: "Kubernetes/EKS",
  // The mode /etc/sysctl.conf already had is kept.
  leaves: [expectFile("/etc/sysctl.conf", undefined)],
  async plan(ctx) {
    const { host } = ctx;
    const current = (await host.readText("/etc/sysctl.conf")) ?? "";
    const mode = (await host.stat("/etc/sysctl.conf"))?.mode ?? 0o644;
    const changes: Change[] = [file("/etc/sysctl.conf", upsertBlock(current, sysctlBlock()), { mode })];
    // systemd-sysctl reads only sysctl.d directories; distributions link /etc/sysctl.conf in as
    // /etc/sysctl.d/99-sysctl.conf (Fedora's systemd and Debian's procps packages ship that link).
    // Where the image lacks it, the link is added so the block above takes effect at boot.
    if (!(await host.stat(SYSCTL_CONF_LINK))) {
      changes.push(dir("/etc/sysctl.d", { mode: 0o755 }), symlink(SYSCTL_CONF_LINK, "../sysctl.conf"));
    }
    changes.push(...(await swapChanges(ctx)));
    return changes;
  },
};
