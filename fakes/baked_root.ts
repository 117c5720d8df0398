/** A temp root holding the few files `eksnode ami` leaves that `eksnode init` reads (init tests, bench). */
import { tempDir } from "./temp.ts";

/** What `eksnode ami` leaves that init reads, by in-root path. */
export const BAKED: Record<string, string> = {
  "/etc/eks/release": "KUBERNETES_VERSION='1.32.3'\nCONTAINERD_VERSION='2.1.4'\n",
  // A 1.32 image has aws-iam-authenticator (step 30): the kubeconfig uses it.
  "/usr/bin/aws-iam-authenticator": "#!/bin/sh\n",
  "/proc/cpuinfo": "processor\t: 0\nmodel name\t: test\n\nprocessor\t: 1\nmodel name\t: test\n",
  "/etc/systemd/system/containerd.service": "[Unit]\nDescription=containerd container runtime\n\n" +
    "[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n",
};

/** A new temp directory holding {@link BAKED}. */
export async function bakedRoot(prefix = "eksnode-init-root-"): Promise<string> {
  const root = await tempDir({ prefix });
  for (const [path, text] of Object.entries(BAKED)) {
    const dir = `${root}${path.slice(0, path.lastIndexOf("/"))}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${root}${path}`, text, { mode: 0o644 });
  }
  return root;
}
