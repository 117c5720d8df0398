/**
 * AL2023 phase: SELinux labels of what eksnode installed, as templates/al2023/provisioners/
 * configure-selinux.sh @ 81fec2e8 does: `restorecon -R /usr/bin /etc/systemd/system /etc/eks`, so the
 * binaries, units and files written by the bake carry the labels the image's policy gives those paths
 * (a file written through a temp file and renamed may carry its temp directory's label otherwise).
 * Only where it can mean something: an image with an SELinux policy (Debian and Ubuntu have none: a note),
 * on the running system with SELinux running (under another --root, or with SELinux off on the build
 * instance, a note says the labels are left to the image's own relabelling). `eksnode verify --phase ami`
 * runs `matchpathcon -V` over the same directories where SELinux runs, as configure-selinux.sh validates.
 */
import { exec, note } from "../../lib/changes.ts";
import { SELINUX_RELABEL_DIRS, selinuxPolicy, selinuxRunning } from "../../eks/image/security.ts";
import type { AmiStepDef } from "./context.ts";

export const step: AmiStepDef = {
  title: "SELinux labels of /usr/bin, /etc/systemd/system and /etc/eks (restorecon)",
  group: "AL2023",
  downloads: false,
  async plan(ctx) {
    const { host } = ctx;
    const dirs = [...SELINUX_RELABEL_DIRS];
    const policy = await selinuxPolicy(host);
    if (!policy) return [note("no SELinux policy in the image (/etc/selinux/config): nothing to label")];
    if (!host.isSystemRoot) {
      return [
        note(
          `restorecon -R ${
            dirs.join(" ")
          } not run: --root is not the running system (the ${policy} policy's labels are set where SELinux runs)`,
        ),
      ];
    }
    if (!(await selinuxRunning(host))) {
      return [note(`restorecon -R ${dirs.join(" ")} not run: SELinux is not running on the build instance`)];
    }
    if (!(await host.which("restorecon"))) {
      return [note("restorecon not found (policycoreutils): labels not restored")];
    }
    return [
      exec(["restorecon", "-R", ...dirs], {
        why: `files written by the bake get the ${policy} policy's labels`,
        key: "selinux:restorecon",
        // -n: change nothing, -v: name what would change; nothing named means every label is right.
        check: async ({ host }) =>
          (await host.exec(["restorecon", "-R", "-n", "-v", ...dirs], { allowFailure: true })).stdout
            .trim() ===
            "",
      }),
    ];
  },
};
