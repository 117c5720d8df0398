/**
 * The worker-node section (3) of the CIS Amazon EKS Benchmark, as data: each control's id, title (the
 * benchmark's own words, so a line compares with kube-bench's), whether it is scored (Automated) and which
 * test decides it. Only the ids and titles are the benchmark's; the remediations here are eksnode's.
 *
 * Source: aquasecurity/kube-bench at commit a73ce378 (2026-06-09), `cfg/eks-1.8.0/node.yaml` (CIS Amazon
 * EKS Benchmark v1.8.0, which kube-bench picks for EKS 1.32–1.34; v1.5.0 and v1.7.0 have the same section
 * 3) and `cfg/eks-1.2.0/node.yaml` (v1.2.0: eleven kubelet controls, protect-kernel-defaults and
 * hostname-override among them, and 3.3.1). The tests follow kube-bench's `tests:` of each control:
 * e.g. 3.2.4 needs readOnlyPort set and 0 (kubelet's flag default is 10255), 3.2.5 passes when
 * streamingConnectionIdleTimeout is unset or not 0. A control kube-bench marks `scored: false` (Manual)
 * that does not pass is a WARN, never a FAIL, as in kube-bench.
 */

/** What a control checks (one evaluator each in eks/verify/cis/evaluate.ts). */
export type ControlTest =
  | "kubeconfigMode"
  | "kubeconfigOwner"
  | "configMode"
  | "configOwner"
  | "anonymousAuth"
  | "authorizationMode"
  | "clientCaFile"
  | "readOnlyPort"
  | "streamingIdleTimeout"
  | "protectKernelDefaults"
  | "iptablesUtilChains"
  | "hostnameOverride"
  | "eventRecordQps"
  | "rotateCertificates"
  | "rotateServerCertificate"
  | "containerOptimizedOs";

/** One control of the benchmark. */
export interface Control {
  id: string;
  /** The benchmark's title, with its "(Automated)" or "(Manual)". */
  text: string;
  /** Automated (kube-bench `scored: true`): a failed test is a FAIL; else a WARN. */
  scored: boolean;
  test: ControlTest;
}

/** A group of controls (3.1, 3.2, ...). */
export interface ControlGroup {
  id: string;
  text: string;
  controls: Control[];
}

/** One benchmark version. */
export interface Benchmark {
  /** eksnode's name for it, e.g. `cis-eks-1.8.0`. */
  name: string;
  /** kube-bench's name, e.g. `eks-1.8.0`. */
  kubeBench: string;
  /** Section 3's title. */
  text: string;
  groups: ControlGroup[];
}

const A = (id: string, title: string, test: ControlTest): Control => ({
  id,
  text: `${title} (Automated)`,
  scored: true,
  test,
});
const M = (id: string, title: string, test: ControlTest): Control => ({
  id,
  text: `${title} (Manual)`,
  scored: false,
  test,
});

const T = {
  kubeconfigMode: "Ensure that the kubeconfig file permissions are set to 644 or more restrictive",
  kubeconfigOwner: "Ensure that the kubelet kubeconfig file ownership is set to root:root",
  configMode: "Ensure that the kubelet configuration file has permissions set to 644 or more restrictive",
  configOwner: "Ensure that the kubelet configuration file ownership is set to root:root",
  anonymousAuth: "Ensure that the Anonymous Auth is Not Enabled",
  authorizationMode: "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
  clientCaFile: "Ensure that a Client CA File is Configured",
  readOnlyPort: "Ensure that the --read-only-port is disabled",
  streamingIdleTimeout: "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
  protectKernelDefaults: "Ensure that the --protect-kernel-defaults argument is set to true",
  iptablesUtilChains: "Ensure that the --make-iptables-util-chains argument is set to true",
  hostnameOverride: "Ensure that the --hostname-override argument is not set",
  eventRecordQps:
    "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures appropriate event capture",
  rotateCertificates: "Ensure that the --rotate-certificates argument is not present or is set to true",
  rotateServerCertificate: "Ensure that the RotateKubeletServerCertificate argument is set to true",
  containerOptimizedOs: "Prefer using a container-optimized OS when possible",
} as const;

const FILES_GROUP = "Worker Node Configuration Files";

/** CIS Amazon EKS Benchmark v1.8.0 (also v1.5.0 and v1.7.0), section 3. */
export const CIS_EKS_1_8_0: Benchmark = {
  name: "cis-eks-1.8.0",
  kubeBench: "eks-1.8.0",
  text: "Worker Nodes",
  groups: [
    {
      id: "3.1",
      text: FILES_GROUP,
      controls: [
        A("3.1.1", T.kubeconfigMode, "kubeconfigMode"),
        A("3.1.2", T.kubeconfigOwner, "kubeconfigOwner"),
        A("3.1.3", T.configMode, "configMode"),
        A("3.1.4", T.configOwner, "configOwner"),
      ],
    },
    {
      id: "3.2",
      text: "Kubelet",
      controls: [
        A("3.2.1", T.anonymousAuth, "anonymousAuth"),
        A("3.2.2", T.authorizationMode, "authorizationMode"),
        A("3.2.3", T.clientCaFile, "clientCaFile"),
        A("3.2.4", T.readOnlyPort, "readOnlyPort"),
        A("3.2.5", T.streamingIdleTimeout, "streamingIdleTimeout"),
        A("3.2.6", T.iptablesUtilChains, "iptablesUtilChains"),
        A("3.2.7", T.eventRecordQps, "eventRecordQps"),
        A("3.2.8", T.rotateCertificates, "rotateCertificates"),
        A("3.2.9", T.rotateServerCertificate, "rotateServerCertificate"),
      ],
    },
  ],
};

/** CIS Amazon EKS Benchmark v1.2.0, section 3: the controls eksnode-cis carried. */
export const CIS_EKS_1_2_0: Benchmark = {
  name: "cis-eks-1.2.0",
  kubeBench: "eks-1.2.0",
  text: "Worker Node Security Configuration",
  groups: [
    {
      id: "3.1",
      text: FILES_GROUP,
      controls: [
        M("3.1.1", T.kubeconfigMode, "kubeconfigMode"),
        M("3.1.2", T.kubeconfigOwner, "kubeconfigOwner"),
        M("3.1.3", T.configMode, "configMode"),
        M("3.1.4", T.configOwner, "configOwner"),
      ],
    },
    {
      id: "3.2",
      text: "Kubelet",
      controls: [
        A("3.2.1", T.anonymousAuth, "anonymousAuth"),
        A("3.2.2", T.authorizationMode, "authorizationMode"),
        M("3.2.3", T.clientCaFile, "clientCaFile"),
        M("3.2.4", T.readOnlyPort, "readOnlyPort"),
        A("3.2.5", T.streamingIdleTimeout, "streamingIdleTimeout"),
        A("3.2.6", T.protectKernelDefaults, "protectKernelDefaults"),
        A("3.2.7", T.iptablesUtilChains, "iptablesUtilChains"),
        M("3.2.8", T.hostnameOverride, "hostnameOverride"),
        A("3.2.9", T.eventRecordQps, "eventRecordQps"),
        M("3.2.10", T.rotateCertificates, "rotateCertificates"),
        M("3.2.11", T.rotateServerCertificate, "rotateServerCertificate"),
      ],
    },
    {
      id: "3.3",
      text: "Container Optimized OS",
      controls: [M("3.3.1", T.containerOptimizedOs, "containerOptimizedOs")],
    },
  ],
};

/** The benchmarks `eksnode verify --benchmark` knows, by name; `cis-eks` is the newest. */
export const BENCHMARKS: Readonly<Record<string, Benchmark>> = {
  "cis-eks": CIS_EKS_1_8_0,
  "cis-eks-1.8.0": CIS_EKS_1_8_0,
  "cis-eks-1.2.0": CIS_EKS_1_2_0,
};
