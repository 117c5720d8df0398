/**
 * Where `eksnode ami` installs the node's programs, one constant each, so the install steps and the
 * release file (step 33) agree. Only constants.
 */
import { RUNC_RUNTIME } from "../containerd/runtime.ts";

/** runc (step 10; containerd's config names it as the runtime binary: eks/containerd/runtime.ts). */
export const RUNC_PATH: string = RUNC_RUNTIME.binaryName;
/** kubelet (step 22). */
export const KUBELET_PATH = "/usr/bin/kubelet";
/** The CNI plugins (step 29). */
export const CNI_BIN_DIR = "/opt/cni/bin";
/** aws-iam-authenticator (step 30). */
export const AWS_IAM_AUTHENTICATOR_PATH = "/usr/bin/aws-iam-authenticator";
/** ecr-credential-provider (step 32), in the directory kubelet's credential provider config names. */
export const ECR_CREDENTIAL_PROVIDER_PATH = "/etc/eks/image-credential-provider/ecr-credential-provider";
