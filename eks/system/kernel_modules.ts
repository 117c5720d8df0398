/** The kernel modules containerd needs at boot, as a modules-load.d file, and its reader. */
import modulesConf from "../../assets/templates/modules-load-containerd.conf" with { type: "text" };

/** Where the image lists them for systemd-modules-load (`eksnode ami` step 14). */
export const MODULES_LOAD_FILE = "/etc/modules-load.d/containerd.conf";

/** /etc/modules-load.d/containerd.conf's content (`eksnode ami` step 14). */
export const MODULES_CONF: string = modulesConf;

/**
 * The module names in a modules-load.d file.
 * @example moduleNames("# c\noverlay\nbr_netfilter\n") // ["overlay", "br_netfilter"]
 */
export function moduleNames(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#") && !l.startsWith(";"));
}
