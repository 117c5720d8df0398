/**
 * The accelerated variants of the image (`eksnode ami --accelerator nvidia|neuron`, `--efa`): vendor
 * repositories, package lists and boot units as pure data. Sources, awslabs/amazon-eks-ami @ 81fec2e8:
 *
 * - templates/al2023/provisioners/install-nvidia-driver.sh: NVIDIA's CUDA repository for amzn2023
 *   (developer.download.nvidia.cn in cn- regions), gpgcheck on, the `nvidia-driver:MAJOR-open` module
 *   stream; the open and proprietary kernel modules built with DKMS and archived under
 *   /var/lib/dkms-archive (the one to load is chosen at boot by nvidia-kmod-load.service,
 *   runtime/gpu/nvidia-kmod-load.sh, from the PCI device ids and the instance type); NVLSM with ib_umad;
 *   fabric manager, IMEX, persistenced, the CUDA driver, the container toolkit; set-nvidia-clocks.service.
 * - templates/al2023/provisioners/install-neuron-driver.sh: the Neuron yum repository, aws-neuronx-dkms and
 *   aws-neuronx-tools; a cached aws-neuronx-dkms 2.21 for inf1, installed at boot by
 *   neuron-package-install.service (runtime/gpu/neuron-package-install.sh).
 * - templates/al2023/provisioners/install-efa.sh: the EFA installer (`efa_installer.sh --minimal -y`), and
 *   efa-nv-peermem erased on images without the NVIDIA driver.
 */
import type { Arch } from "../../assets/versions.ts";
import openDevices580 from "../../assets/gpu/nvidia-open-supported-devices-580.txt" with { type: "text" };

/** What release.json records of a bake that ran the AL2023 phase (`eksnode verify` reads it). */
export interface Al2023Variant {
  accelerator?: "nvidia" | "neuron";
  efa: boolean;
  /** FIPS mode (`--fips` with the phase: step 53). */
  fips?: boolean;
  /** The NVIDIA driver's full version (NVIDIA variant). */
  nvidiaDriver?: string;
}

/** The NVIDIA driver of an NVIDIA image: the module stream's major version and the full version installed. */
export interface NvidiaDriver {
  /** e.g. "580" (AL2023's nvidia_driver_major_version). */
  major: string;
  /** e.g. "580.82.07": every nvidia package is installed at it, so kernel modules and user space agree. */
  version: string;
}

/**
 * The default driver: AL2023's default major version 580 (templates/al2023/variables-default.json
 * nvidia_driver_major_version) at 580.82.07, the release the 580 supported-devices list was generated from
 * (runtime/gpu/nvidia-open-supported-devices-580.txt). AL2023 resolves the newest at bake time; eksnode
 * pins it, so two bakes install the same driver (bake config `nvidia_driver_version` to change it).
 */
export const DEFAULT_NVIDIA_DRIVER: NvidiaDriver = { major: "580", version: "580.82.07" };

/** The NVIDIA driver of a full version string ("580.82.07" → major 580). */
export function nvidiaDriver(version: string): NvidiaDriver {
  return { major: version.split(".")[0], version };
}

/** Path of the NVIDIA repository file (what `dnf config-manager --add-repo` would have saved). */
export const NVIDIA_REPO_FILE = "/etc/yum.repos.d/cuda-amzn2023.repo";
/** Path of the Neuron repository file. */
export const NEURON_REPO_FILE = "/etc/yum.repos.d/neuron.repo";

/** NVIDIA's download domain for a region (nvidia.cn in the China regions). */
export function nvidiaDomain(region: string): string {
  return region.startsWith("cn-") ? "nvidia.cn" : "nvidia.com";
}

/**
 * NVIDIA's CUDA repository for Amazon Linux 2023, with GPG checks on (install-nvidia-driver.sh adds it with
 * `dnf config-manager --add-repo .../amzn2023/$(uname -m)/cuda-amzn2023.repo`, then sets gpgcheck=1).
 */
export function renderNvidiaRepo(arch: Arch, region: string): string {
  const base = `https://developer.download.${nvidiaDomain(region)}/compute/cuda/repos/amzn2023/${arch}`;
  return [
    "# Written by `eksnode ami` (step 44): NVIDIA's CUDA repository, as install-worker's",
    "# install-nvidia-driver.sh adds it (Amazon Linux 2023 EKS image).",
    `[cuda-amzn2023-${arch}]`,
    `name=cuda-amzn2023-${arch}`,
    `baseurl=${base}`,
    "enabled=1",
    "gpgcheck=1",
    `gpgkey=${base}/D42D0685.pub`,
    "",
  ].join("\n");
}

/** The Neuron repository, as install-neuron-driver.sh writes it. */
export function renderNeuronRepo(): string {
  return [
    "# Written by `eksnode ami` (step 48): the AWS Neuron repository (install-neuron-driver.sh).",
    "[neuron]",
    "name=Neuron YUM Repository",
    "baseurl=https://yum.repos.neuron.amazonaws.com",
    "enabled=1",
    "gpgcheck=1",
    "gpgkey=https://yum.repos.neuron.amazonaws.com/GPG-PUB-KEY-AMAZON-AWS-NEURON.PUB",
    "metadata_expire=0",
    "",
  ].join("\n");
}

/**
 * The kernel package family of a kernel release: AL2023 names its newer kernels' packages kernel6.12 and
 * kernel6.18 (install-worker.sh, install-nvidia-driver.sh).
 * @example kernelPackage("6.12.40-63.114.amzn2023.x86_64") // "kernel6.12"
 */
export function kernelPackage(release: string): string {
  if (release.startsWith("6.12.")) return "kernel6.12";
  if (release.startsWith("6.18.")) return "kernel6.18";
  return "kernel";
}

/** A package to install, with an optional version prefix. */
export interface VariantPackage {
  name: string;
  version?: string;
}

/** Kernel development packages a DKMS module builds against (NVIDIA adds the extra modules). */
export function kernelBuildPackages(release: string, extraModules: boolean): VariantPackage[] {
  const k = kernelPackage(release);
  const names = [
    `${k}-devel`,
    `${k}-headers`,
    ...(extraModules ? [`${k}-modules-extra`, `${k}-modules-extra-common`] : []),
  ];
  return names.map((name) => ({ name }));
}

/**
 * The NVIDIA user-space packages, all at the driver's version but the container toolkit (released on its
 * own): fabric manager and IMEX (renamed from 580), persistenced, the CUDA driver, and from 580 the
 * driver's X pieces AL2023 adds; NVLSM for fourth-generation NVSwitch systems.
 */
export function nvidiaPackages(d: NvidiaDriver): VariantPackage[] {
  const from580 = Number(d.major) >= 580;
  const v = d.version;
  return [
    // lspci, for nvidia-kmod-load.sh's choice of module.
    { name: "pciutils" },
    { name: "libibumad" },
    { name: "infiniband-diags" },
    { name: "nvlsm" },
    from580 ? { name: "nvidia-fabricmanager", version: v } : { name: "nvidia-fabric-manager", version: v },
    from580 ? { name: "nvidia-imex", version: v } : { name: `nvidia-imex-${d.major}`, version: v },
    { name: "nvidia-container-toolkit" },
    { name: "nvidia-persistenced", version: v },
    { name: "nvidia-driver-cuda", version: v },
    ...(from580
      ? [
        "libnvidia-fbc",
        "nvidia-driver",
        "nvidia-libXNVCtrl-devel",
        "nvidia-settings",
        "nvidia-xconfig",
        "xorg-x11-nvidia",
      ]
        .map((name) => ({ name, version: v }))
      : []),
  ];
}

/** The NVIDIA services enabled at bake (they start after nvidia-kmod-load.service loaded a module). */
export const NVIDIA_SERVICES: readonly string[] = [
  "nvidia-fabricmanager.service",
  "nvidia-persistenced.service",
];

/** The DKMS kernel modules archived at bake, one of which nvidia-kmod-load.sh loads at boot. */
export const NVIDIA_KMODS: readonly { module: string; package: string }[] = [
  { module: "nvidia-open", package: "kmod-nvidia-open-dkms" },
  { module: "nvidia", package: "kmod-nvidia-latest-dkms" },
];

/** The bake-time script that builds, archives and removes one NVIDIA kernel module. */
export const KMOD_ARCHIVE_SCRIPT = "/usr/libexec/eksnode/nvidia-kmod-archive";
/** DKMS's build settings for the NVIDIA modules (every processor of the build instance). */
export const DKMS_NVIDIA_CONF = "/etc/dkms/nvidia.conf";

/** Where DKMS module archives are kept (runtime/gpu/kmod-util). */
export const DKMS_ARCHIVE_DIR = "/var/lib/dkms-archive";
/** ib_umad loaded at boot for NVLSM. */
export const IB_UMAD_CONF = "/etc/modules-load.d/ib-umad.conf";

/** The boot script that chooses and loads the NVIDIA kernel module (AL2023's path). */
export const NVIDIA_KMOD_LOAD_SCRIPT = "/etc/eks/nvidia-kmod-load.sh";
/** The unit that runs {@link NVIDIA_KMOD_LOAD_SCRIPT} at boot. */
export const NVIDIA_KMOD_LOAD_SERVICE = "nvidia-kmod-load.service";
/** The boot script that sets the GPUs' application clocks. */
export const SET_NVIDIA_CLOCKS_SCRIPT = "/usr/bin/set-nvidia-clocks";
/** The unit that runs {@link SET_NVIDIA_CLOCKS_SCRIPT} once persistenced runs. */
export const SET_NVIDIA_CLOCKS_SERVICE = "set-nvidia-clocks.service";
/** The DKMS archive helper (archive at bake, load at boot). */
export const KMOD_UTIL = "/usr/bin/kmod-util";
/**
 * The open kernel module's supported device lists eksnode carries, by driver major version: NVIDIA's data
 * (supported-gpus.json of the driver), as templates/al2023/runtime/gpu/nvidia-open-supported-devices-580.txt
 * @ 81fec2e8 extracts it (license header kept). Without a list for the driver, the proprietary module loads.
 */
export const OPEN_DEVICE_LISTS: Readonly<Record<string, string>> = { "580": openDevices580 };

/** The open module's supported device list for a major version (read by nvidia-kmod-load.sh). */
export function nvidiaOpenDevicesFile(major: string): string {
  return `/etc/eks/nvidia-open-supported-devices-${major}.txt`;
}

/** nvidia-kmod-load.service (runtime/gpu/nvidia-kmod-load.service). */
export function renderNvidiaKmodLoadUnit(): string {
  return [
    "# Written by `eksnode ami` (step 47), after Amazon Linux 2023's nvidia-kmod-load.service.",
    "[Unit]",
    "Description=Loading NVIDIA kernel modules",
    "# the script asks IMDS for the instance type: wait for the network",
    "After=network-online.target",
    "Wants=network-online.target",
    `Before=${NVIDIA_SERVICES.join(" ")}`,
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${NVIDIA_KMOD_LOAD_SCRIPT}`,
    "RemainAfterExit=true",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** set-nvidia-clocks.service (runtime/gpu/set-nvidia-clocks.service). */
export function renderSetNvidiaClocksUnit(): string {
  return [
    "# Written by `eksnode ami` (step 47), after Amazon Linux 2023's set-nvidia-clocks.service.",
    "[Unit]",
    "Description=Configure NVIDIA GPU clock rate",
    "After=nvidia-persistenced.service",
    "Requires=nvidia-persistenced.service",
    "ConditionPathExists=/usr/bin/nvidia-smi",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${SET_NVIDIA_CLOCKS_SCRIPT}`,
    "RemainAfterExit=true",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The Neuron packages (install-neuron-driver.sh). */
export const NEURON_PACKAGES: readonly VariantPackage[] = [
  // lspci, for neuron-package-install.sh's inf1 test.
  { name: "pciutils" },
  { name: "aws-neuronx-dkms" },
  { name: "aws-neuronx-tools" },
];
/** The driver version inf1 needs, cached at bake and installed at boot on inf1 only. */
export const NEURON_INF1_DRIVER = "2.21";
/** Where the cached driver package waits (install-neuron-driver.sh PACKAGE_CACHE_PATH). */
export const NEURON_PACKAGE_CACHE = "/var/cache/eks/packages";
/** The boot script that installs the cached inf1 driver on inf1. */
export const NEURON_INSTALL_SCRIPT = "/etc/eks/neuron-package-install.sh";
/** The unit that runs {@link NEURON_INSTALL_SCRIPT} before cloud-init. */
export const NEURON_INSTALL_SERVICE = "neuron-package-install.service";

/** neuron-package-install.service (runtime/gpu/neuron-package-install.service). */
export function renderNeuronInstallUnit(): string {
  return [
    "# Written by `eksnode ami` (step 49), after Amazon Linux 2023's neuron-package-install.service.",
    "[Unit]",
    "Description=Install Neuron packages",
    "# before cloud-init, so user data that asks for the installed driver finds it",
    "Before=cloud-init.service",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${NEURON_INSTALL_SCRIPT}`,
    "RemainAfterExit=true",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** Where the EFA installer's record of its install is found: its own /opt/amazon/efa_installed_packages. */
export const EFA_INSTALLED_MARKER = "/opt/amazon/efa_installed_packages";
/** Where eksnode unpacks the verified EFA installer on the build instance. */
export const EFA_INSTALLER_DIR = "/var/lib/eksnode/efa-installer";
