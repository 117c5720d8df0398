#!/bin/bash
# AL2-style user data: the EKS AMI's bootstrap.sh joins the node. eksnode reads the same call.
set -o xtrace

# Something unrelated first: the script path as an argument is not a call.
cp /etc/eks/bootstrap.sh /root/bootstrap.sh.orig

/etc/eks/bootstrap.sh my-cluster \
  --b64-cluster-ca LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmekNDQVNXZ0F3SUJBZ0lVWlFDUEhFRDdUekF1dlFWeTZ6WmRNU2w5MG8wd0NnWUlLb1pJemowRUF3SXcKRlRFVE1CRUdBMVVFQXd3S2EzVmlaWEp1WlhSbGN6QWVGdzB5TmpFeE1qVXdPVFV6TlRaYUZ3MHpOakV4TWpJdwpPVFV6TlRaYU1CVXhFekFSQmdOVkJBTU1DbXQxWW1WeWJtVjBaWE13V1RBVEJnY3Foa2pPUFFJQkJnZ3Foa2pPClBRTUJCd05DQUFUMnNKNCt3S0x1Z3JYalR1RnVHbzlLVUt2Uk9xcTAyMElFazIwNVo4OG9NSE1jK3lXRm0yYnYKajEwdDhPdkkyRlZzUWdWSVdJdXE5Vm1OVGh0TDB0RzdvMU13VVRBZEJnTlZIUTRFRmdRVUZ5dXlzS3Vta0tSTgo2OFFsbUppd0RHNUJOUlF3SHdZRFZSMGpCQmd3Rm9BVUZ5dXlzS3Vta0tSTjY4UWxtSml3REc1Qk5SUXdEd1lEClZSMFRBUUgvQkFVd0F3RUIvekFLQmdncWhrak9QUVFEQWdOSUFEQkZBaUE2U0pFalhrdG5IQWRTMFBIMnFaclkKTm1rNE92ajJab3VFWnlwN2pEcGROUUloQU5HS2V0WnZRSExHbTQyWGEzcWlYeGtSZ0VGOTlKUDQ0OURVRkNNeApGUjlvCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K \
  --apiserver-endpoint https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com \
  --dns-cluster-ip 10.100.0.10 \
  --container-runtime containerd \
  --use-max-pods false \
  --kubelet-extra-args '--node-labels=a=b --max-pods=30 --register-with-taints="dedicated=batch:NoSchedule"' \
  > /var/log/bootstrap.log 2>&1

/opt/aws/bin/cfn-signal --exit-code $? --stack my-stack --resource NodeGroup --region us-west-2
