/**
 * Field names and JSON types of kubelet.config.k8s.io/v1beta1 KubeletConfiguration, as the kubelet
 * decodes `--config` files. Written from the Go types in
 * https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/kubelet/config/v1beta1/types.go
 * (as published in kubernetes/kubelet config/v1beta1/types.go @ 0ac2cd6dd280f3b7803e738e9fc533cb3bdf2ff5,
 * Kubernetes 1.34), with the embedded types from k8s.io/component-base/logs/api/v1/types.go
 * (LoggingConfiguration), k8s.io/component-base/tracing/api/v1/types.go (TracingConfiguration) and
 * k8s.io/api/core/v1/types.go (Taint). JSON names are the `json:"..."` tags; Go types map to:
 * bool → "bool"; int32/int64/uint32 → ranged integers; float64 → "float"; string and string enums →
 * "string"; metav1.Duration → "duration" (a Go duration string); resource.Quantity → "quantity";
 * slices → { list }, maps → { map }, structs → { struct }.
 */

/** A JSON type in the schema. */
export type FieldType =
  | "string"
  | "bool"
  | "int32"
  | "int64"
  | "uint32"
  | "float"
  | "duration"
  | "quantity"
  | "time"
  | "durationOrNanoseconds"
  | { list: FieldType }
  | { map: FieldType }
  | { struct: Record<string, FieldType> };

const DURATION: FieldType = "duration";
const STRING_MAP: FieldType = { map: "string" };

const TAINT: FieldType = { struct: { key: "string", value: "string", effect: "string", timeAdded: "time" } };

const FORMAT_OPTIONS: FieldType = {
  struct: {
    text: { struct: { splitStream: "bool", infoBufferSize: "quantity" } },
    json: { struct: { splitStream: "bool", infoBufferSize: "quantity" } },
  },
};

const LOGGING: FieldType = {
  struct: {
    format: "string",
    flushFrequency: "durationOrNanoseconds",
    verbosity: "uint32",
    vmodule: { list: { struct: { filePattern: "string", verbosity: "uint32" } } },
    options: FORMAT_OPTIONS,
  },
};

/** KubeletConfiguration's fields (TypeMeta's apiVersion and kind included). */
export const KUBELET_CONFIGURATION: Record<string, FieldType> = {
  apiVersion: "string",
  kind: "string",
  enableServer: "bool",
  staticPodPath: "string",
  podLogsDir: "string",
  syncFrequency: DURATION,
  fileCheckFrequency: DURATION,
  httpCheckFrequency: DURATION,
  staticPodURL: "string",
  staticPodURLHeader: { map: { list: "string" } },
  address: "string",
  port: "int32",
  readOnlyPort: "int32",
  tlsCertFile: "string",
  tlsPrivateKeyFile: "string",
  tlsCipherSuites: { list: "string" },
  tlsCurvePreferences: { list: "int32" },
  tlsMinVersion: "string",
  rotateCertificates: "bool",
  serverTLSBootstrap: "bool",
  authentication: {
    struct: {
      x509: { struct: { clientCAFile: "string" } },
      webhook: { struct: { enabled: "bool", cacheTTL: DURATION } },
      anonymous: { struct: { enabled: "bool" } },
    },
  },
  authorization: {
    struct: {
      mode: "string",
      webhook: { struct: { cacheAuthorizedTTL: DURATION, cacheUnauthorizedTTL: DURATION } },
    },
  },
  registryPullQPS: "int32",
  registryBurst: "int32",
  imagePullCredentialsVerificationPolicy: "string",
  preloadedImagesVerificationAllowlist: { list: "string" },
  eventRecordQPS: "int32",
  eventBurst: "int32",
  enableDebuggingHandlers: "bool",
  enableContentionProfiling: "bool",
  healthzPort: "int32",
  healthzBindAddress: "string",
  oomScoreAdj: "int32",
  clusterDomain: "string",
  clusterDNS: { list: "string" },
  streamingConnectionIdleTimeout: DURATION,
  nodeStatusUpdateFrequency: DURATION,
  nodeStatusReportFrequency: DURATION,
  nodeLeaseDurationSeconds: "int32",
  imageMinimumGCAge: DURATION,
  imageMaximumGCAge: DURATION,
  imageGCHighThresholdPercent: "int32",
  imageGCLowThresholdPercent: "int32",
  volumeStatsAggPeriod: DURATION,
  kubeletCgroups: "string",
  systemCgroups: "string",
  cgroupRoot: "string",
  cgroupsPerQOS: "bool",
  cgroupDriver: "string",
  cpuManagerPolicy: "string",
  singleProcessOOMKill: "bool",
  cpuManagerPolicyOptions: STRING_MAP,
  cpuManagerReconcilePeriod: DURATION,
  memoryManagerPolicy: "string",
  topologyManagerPolicy: "string",
  topologyManagerScope: "string",
  topologyManagerPolicyOptions: STRING_MAP,
  qosReserved: STRING_MAP,
  runtimeRequestTimeout: DURATION,
  hairpinMode: "string",
  maxPods: "int32",
  podCIDR: "string",
  podPidsLimit: "int64",
  resolvConf: "string",
  runOnce: "bool",
  cpuCFSQuota: "bool",
  cpuCFSQuotaPeriod: DURATION,
  nodeStatusMaxImages: "int32",
  maxOpenFiles: "int64",
  contentType: "string",
  kubeAPIQPS: "int32",
  kubeAPIBurst: "int32",
  serializeImagePulls: "bool",
  maxParallelImagePulls: "int32",
  evictionHard: STRING_MAP,
  evictionSoft: STRING_MAP,
  evictionSoftGracePeriod: STRING_MAP,
  evictionPressureTransitionPeriod: DURATION,
  evictionMaxPodGracePeriod: "int32",
  evictionMinimumReclaim: STRING_MAP,
  mergeDefaultEvictionSettings: "bool",
  podsPerCore: "int32",
  enableControllerAttachDetach: "bool",
  protectKernelDefaults: "bool",
  makeIPTablesUtilChains: "bool",
  iptablesMasqueradeBit: "int32",
  iptablesDropBit: "int32",
  featureGates: { map: "bool" },
  failSwapOn: "bool",
  memorySwap: { struct: { swapBehavior: "string" } },
  containerLogMaxSize: "string",
  containerLogMaxFiles: "int32",
  containerLogMaxWorkers: "int32",
  containerLogMonitorInterval: DURATION,
  configMapAndSecretChangeDetectionStrategy: "string",
  systemReserved: STRING_MAP,
  kubeReserved: STRING_MAP,
  reservedSystemCPUs: "string",
  showHiddenMetricsForVersion: "string",
  systemReservedCgroup: "string",
  kubeReservedCgroup: "string",
  enforceNodeAllocatable: { list: "string" },
  allowedUnsafeSysctls: { list: "string" },
  volumePluginDir: "string",
  providerID: "string",
  kernelMemcgNotification: "bool",
  logging: LOGGING,
  enableSystemLogHandler: "bool",
  enableSystemLogQuery: "bool",
  shutdownGracePeriod: DURATION,
  shutdownGracePeriodCriticalPods: DURATION,
  shutdownGracePeriodByPodPriority: {
    list: { struct: { priority: "int32", shutdownGracePeriodSeconds: "int64" } },
  },
  crashLoopBackOff: { struct: { maxContainerRestartPeriod: DURATION } },
  reservedMemory: { list: { struct: { numaNode: "int32", limits: { map: "quantity" } } } },
  enableProfilingHandler: "bool",
  enableDebugFlagsHandler: "bool",
  seccompDefault: "bool",
  memoryThrottlingFactor: "float",
  registerWithTaints: { list: TAINT },
  registerNode: "bool",
  tracing: { struct: { endpoint: "string", samplingRatePerMillion: "int32" } },
  localStorageCapacityIsolation: "bool",
  containerRuntimeEndpoint: "string",
  imageServiceEndpoint: "string",
  failCgroupV1: "bool",
  userNamespaces: { struct: { idsPerPod: "int64" } },
};

/**
 * CredentialProviderConfig (the kubelet's --image-credential-provider-config), from the same
 * types.go. The kubelet.config.k8s.io/v1 version adds tokenAttributes (Kubernetes 1.33), which
 * eksnode does not write and this schema leaves out.
 */
export const CREDENTIAL_PROVIDER_CONFIG: Record<string, FieldType> = {
  apiVersion: "string",
  kind: "string",
  providers: {
    list: {
      struct: {
        name: "string",
        matchImages: { list: "string" },
        defaultCacheDuration: DURATION,
        apiVersion: "string",
        args: { list: "string" },
        env: { list: { struct: { name: "string", value: "string" } } },
      },
    },
  },
};
