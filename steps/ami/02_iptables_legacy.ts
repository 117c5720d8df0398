/**
 * Iptables with the legacy backend, which kubelet and kube-proxy of the EKS AMIs expect
 * (AL2 ships only it; on AL2023 and Debian/Ubuntu it is selected with (update-)alternatives).
 */
import { exec, note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { installRole } from "./ami_packages.ts";
import type { AmiContext, AmiStepDef } from "./context.ts";

/** `alternatives`-style tool per package manager (Debian: update-alternatives; Fedora family: alternatives). */
function alternativesTool(pm: AmiContext["packageManager"]): string | undefined {
  return pm === "apt" ? "update-alternatives" : pm === "dnf" ? "alternatives" : undefined;
}

/** Selects `/usr/sbin/NAME-legacy` for NAME, checked with `--query` (Debian) or `--display`. */
function selectLegacy(tool: string, name: string): Change {
  const target = `/usr/sbin/${name}-legacy`;
  return exec([tool, "--set", name, target], {
    why: "kubelet needs the legacy iptables backend",
    key: `alternatives:${name}`,
    check: async ({ host }) => {
      const argv = tool === "update-alternatives" ? [tool, "--query", name] : [tool, "--display", name];
      const r = await host.exec(argv, { allowFailure: true });
      if (r.code !== 0) return false;
      // update-alternatives --query: "Value: /usr/sbin/iptables-legacy"; alternatives --display:
      // "link currently points to /usr/sbin/iptables-legacy".
      return new RegExp(`(Value:|points to)\\s+${target.replaceAll(".", "\\.")}\\s*$`, "m").test(r.stdout);
    },
  });
}

/** The step. */
export const step: AmiStepDef = {
  title: "Install iptables-legacy and select the legacy backend",
  group: "Linux",
  async plan(ctx) {
    const out: Change[] = [await installRole(ctx, "iptablesLegacy")];
    const tool = alternativesTool(ctx.packageManager);
    if (ctx.packageManager === "yum") {
      out.push(note("iptables on Amazon Linux 2 is the legacy backend: nothing to select"));
    } else if (ctx.packageManager === "none") {
      out.push(note("select iptables-legacy with (update-)alternatives (package manager none: not run)"));
    } else if (!ctx.host.isSystemRoot) {
      out.push(
        note(
          `${tool} --set iptables skipped: --root is not the running system (alternatives live in its database)`,
        ),
      );
    } else if (tool) {
      out.push(selectLegacy(tool, "iptables"), selectLegacy(tool, "ip6tables"));
    }
    return out;
  },
};
