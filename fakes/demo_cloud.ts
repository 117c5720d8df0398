/**
 * The simulated cloud of the demo: instance metadata (with a NodeConfig as user data that names only the
 * cluster), an EKS API that answers DescribeCluster for it and an EC2 API that answers DescribeInstances
 * (the node name), all on loopback, plus the environment
 * that points eksnode at them the way AWS tools are pointed elsewhere.
 */
import { start as startEc2 } from "./ec2.ts";
import { clusterJson, start as startEks } from "./eks.ts";
import { start as startImds } from "./imds.ts";

/** The demo's NodeConfig: endpoint and CA are left out, so init asks the (fake) EKS API. */
export const DEMO_USER_DATA = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: demo-cluster
  kubelet:
    flags:
      - --node-labels=eksnode/demo=true

--BOUNDARY
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/bash
echo "other user data parts keep working"

--BOUNDARY--
`;

/** Starts the fakes; `env` holds the variables to run eksnode with. */
export function startDemoCloud() {
  const imds = startImds({ userData: DEMO_USER_DATA });
  const eks = startEks({ clusters: { "demo-cluster": clusterJson("demo-cluster", { version: "1.32" }) } });
  const ec2 = startEc2();
  return {
    imdsUrl: imds.url,
    eksUrl: eks.url,
    env: {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_ENDPOINT_URL_EKS: eks.url,
      AWS_ENDPOINT_URL_EC2: ec2.url,
      AWS_REGION: "us-west-2",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLEDEMO",
      AWS_SECRET_ACCESS_KEY: "demo-secret-not-real",
    },
    close: async () => {
      await Promise.all([imds.close(), eks.close(), ec2.close()]);
    },
  };
}
