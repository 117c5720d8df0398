/**
 * The units that run `eksnode init` at every boot, as nodeadm's do on the AL2023 EKS AMIs
 * (awslabs/amazon-eks-ami templates/al2023/runtime/rootfs/etc/systemd/system/nodeadm-config.service and
 * nodeadm-run.service, commit 81fec2e8):
 *
 * - the config phase (`--skip run`: every file, daemon-reload) runs before cloud-init, after the
 *   network is up (nodeadm: After=systemd-networkd-wait-online.service; the other distributions'
 *   wait-online units are named too, an ordering on a unit that is not there is none);
 * - the run phase (`--skip config`: enable and start) runs after cloud-final, so user data scripts can
 *   still change things (a drop-in in /etc/eks/nodeadm.d/ makes the run phase write the files again);
 * - both read the user data and the drop-in directory and share the settings through a cache under
 *   /run (nodeadm: only the run phase reads the drop-ins; reading them in both keeps a reboot from
 *   writing the files twice, once without them);
 * - eksnode additions: the config phase is ordered before the services whose files it writes (so at
 *   the boots after the first one, when they are enabled, they start with this boot's configuration);
 *   user data that holds no NodeConfig (a script calling /etc/eks/bootstrap.sh) leaves both units with
 *   nothing to do (`--allow-no-config`) instead of failing the boot; `/etc/environment` is read, so the
 *   proxy settings written there reach eksnode as they reach other programs (systemd's
 *   DefaultEnvironment reaches them anyway). No `Alias=nodeadm-*.service`: on an image that has
 *   nodeadm's units in /etc/systemd/system the alias link would make `systemctl enable` fail.
 */
import { execCommandLine } from "../../lib/systemd_quote.ts";
import {
  BOOT_CONFIG_CACHE,
  BOOT_CONFIG_SERVICE,
  BOOT_CONFIG_SOURCES,
  EKSNODE_BIN,
  LOCAL_DISKS_SERVICE,
  SANDBOX_IMAGE_UNIT,
} from "../paths/node.ts";

const HEADER =
  "# Written by eksnode ami; a later bake overwrites changes made here (add a drop-in instead).\n";
const SANDBOX_IMAGE_SERVICE = SANDBOX_IMAGE_UNIT.split("/").at(-1)!;

/** The argv of a boot unit's `eksnode init` for one phase (the other is skipped). */
export function bootInitArgv(phase: "config" | "run"): string[] {
  return [
    EKSNODE_BIN,
    "init",
    "--skip",
    phase === "config" ? "run" : "config",
    ...BOOT_CONFIG_SOURCES.flatMap((s) => ["--config-source", s]),
    "--config-cache",
    BOOT_CONFIG_CACHE,
    "--allow-no-config",
  ];
}

/** eksnode-config.service: `eksnode init`'s config phase, before cloud-init. */
export function renderBootConfigUnit(): string {
  return `${HEADER}[Unit]
Description=EKS node configuration from user data (eksnode init, config phase)
Documentation=man:systemd.service(5) https://awslabs.github.io/amazon-eks-ami/nodeadm/
# Before cloud-init, so that user data scripts can still change what it wrote; the run phase follows them.
Before=cloud-init.service
# Before the services whose files it writes: enabled after the first boot, they start with this boot's.
Before=containerd.service ${SANDBOX_IMAGE_SERVICE} kubelet.service ${LOCAL_DISKS_SERVICE}
# Instance metadata needs the network (nodeadm: systemd-networkd-wait-online.service).
After=systemd-networkd-wait-online.service NetworkManager-wait-online.service networking.service

[Service]
Type=oneshot
EnvironmentFile=-/etc/environment
ExecStart=${execCommandLine(bootInitArgv("config"))}
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;
}

/** eksnode-run.service: `eksnode init`'s run phase, after cloud-final. */
export function renderBootRunUnit(): string {
  return `${HEADER}[Unit]
Description=EKS node start (eksnode init, run phase)
Documentation=man:systemd.service(5) https://awslabs.github.io/amazon-eks-ami/nodeadm/
# After cloud-init's last stage, so that what user data scripts changed is picked up.
After=${BOOT_CONFIG_SERVICE} cloud-final.service
Requires=${BOOT_CONFIG_SERVICE}

[Service]
Type=oneshot
EnvironmentFile=-/etc/environment
ExecStart=${execCommandLine(bootInitArgv("run"))}
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;
}
