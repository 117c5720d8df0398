/**
 * The validators: one function per tool, each returning a {@link Verdict} (problems, empty when the
 * tool accepts the file; or "not checked: TOOL missing"). {@link FILE_VALIDATORS} says which files
 * of a node root each one judges; systemd units are judged per root (./systemd.ts).
 *
 * | validator          | tool                                        | file(s)                                   |
 * | ------------------ | ------------------------------------------- | ----------------------------------------- |
 * | containerd         | containerd --config F config dump            | /etc/containerd/config.toml, copies       |
 * | systemd            | systemd-analyze verify --root; systemctl --root enable | units and drop-ins       |
 * | kubectl            | kubectl --kubeconfig F config view --minify  | /var/lib/kubelet/*kubeconfig              |
 * | sysctl             | sysctl --dry-run -p F                        | /etc/sysctl.conf, /etc/sysctl.d/*.conf    |
 * | logrotate          | logrotate -d                                 | /etc/logrotate.conf, /etc/logrotate.d/*   |
 * | sshd               | sshd -t                                      | /etc/ssh/sshd_config.d/*.conf             |
 * | kubelet config     | schema (kubelet_config_schema.ts)            | kubelet-config.json + drop-ins, providers |
 * | shell              | bash -n                                      | scripts eksnode writes                    |
 */
import type { Verdict } from "./common.ts";
import { validateContainerdConfig } from "./containerd.ts";
import { validateCredentialProviderConfig, validateKubeletConfig } from "./kubelet_config.ts";
import { validateKubeconfig } from "./kubectl.ts";
import { validateLogrotateFile } from "./logrotate.ts";
import { validateShellScript } from "./shell.ts";
import { validateSshdFile } from "./sshd.ts";
import { validateSysctlFile } from "./sysctl.ts";

export * from "./common.ts";
export { validateContainerdConfig } from "./containerd.ts";
export { addBaseOs, enableUnits, verifyUnits, wantsLinks } from "./systemd.ts";
export { validateKubeconfig } from "./kubectl.ts";
export { validateSysctlFile } from "./sysctl.ts";
export { validateLogrotateFile } from "./logrotate.ts";
export { validateSshdFile } from "./sshd.ts";
export {
  kubeletConfigProblems,
  validateCredentialProviderConfig,
  validateKubeletConfig,
} from "./kubelet_config.ts";
export { validateShellScript } from "./shell.ts";

/** A validator for files of a node root. */
export interface FileValidator {
  name: string;
  /** The program it needs (undefined: none). */
  tool?: string;
  /** True for paths (inside the root) this validator judges. */
  matches(path: string): boolean;
  validate(root: string, path: string): Promise<Verdict>;
}

/** Every per-file validator, with the files of a node root it judges. */
export const FILE_VALIDATORS: FileValidator[] = [
  {
    name: "containerd",
    tool: "containerd",
    matches: (p) =>
      /^\/etc\/containerd\/(config\.toml|config\.d\/[^/]+\.toml)$|^\/etc\/eks\/containerd\/[^/]+\.toml$/.test(
        p,
      ),
    validate: (root, p) => validateContainerdConfig(`${root}${p}`),
  },
  {
    name: "kubectl",
    tool: "kubectl",
    matches: (p) => /^\/var\/lib\/kubelet\/(bootstrap-)?kubeconfig$/.test(p),
    validate: (root, p) => validateKubeconfig(`${root}${p}`),
  },
  {
    name: "sysctl",
    tool: "sysctl",
    matches: (p) => /^\/etc\/sysctl\.conf$|^\/etc\/sysctl\.d\/[^/]+\.conf$/.test(p),
    validate: (root, p) => validateSysctlFile(`${root}${p}`),
  },
  {
    name: "logrotate",
    tool: "logrotate",
    matches: (p) => /^\/etc\/logrotate\.conf$|^\/etc\/logrotate\.d\/[^/]+$/.test(p),
    validate: (root, p) => validateLogrotateFile(`${root}${p}`, root),
  },
  {
    name: "sshd",
    tool: "sshd",
    matches: (p) => /^\/etc\/ssh\/sshd_config\.d\/[^/]+\.conf$/.test(p),
    validate: (_root, p) => validateSshdFile(`${_root}${p}`),
  },
  {
    name: "kubelet config",
    // The main file and the drop-ins of its --config-dir (each is decoded as a KubeletConfiguration).
    matches: (p) =>
      /^\/etc\/kubernetes\/kubelet\/(kubelet-config\.json|config\.json\.d\/[^/]+\.conf)$/.test(p),
    validate: (root, p) => validateKubeletConfig(`${root}${p}`),
  },
  {
    name: "credential provider config",
    matches: (p) => p === "/etc/eks/image-credential-provider/config.json",
    validate: (root, p) => validateCredentialProviderConfig(`${root}${p}`),
  },
  {
    name: "shell",
    tool: "bash",
    matches: (p) =>
      /^\/etc\/eks\/(bootstrap\.sh|containerd\/[^/]+\.sh|log-collector-script\/[^/]+\.sh)$/.test(p),
    validate: (root, p) => validateShellScript(`${root}${p}`),
  },
];

/** Unit files and drop-ins under a root's /etc/systemd/system (not the `*.wants/` links). */
export function isUnitFile(path: string): boolean {
  return /^\/etc\/systemd\/system\/[^/]+\.(service|slice|socket|timer|mount|path|target)$/.test(path) ||
    /^\/etc\/systemd\/system\/[^/]+\.d\/[^/]+\.conf$/.test(path);
}
