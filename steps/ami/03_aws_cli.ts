/** The AWS CLI (used at boot and by the sandbox-image unit to log in to ECR). */
import { note } from "../../lib/changes.ts";
import { amiPackageTarget, installRole } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install the AWS CLI",
  group: "Linux",
  async plan(ctx) {
    const { distro } = await amiPackageTarget(ctx);
    if (distro === "ubuntu") {
      const v = /^VERSION_ID="?([\d.]+)"?$/m.exec((await ctx.host.readText("/etc/os-release")) ?? "")?.[1];
      if (v && Number(v) >= 24.04) {
        return [
          note(
            `package awsCli skipped: Ubuntu ${v} has no awscli deb; install the aws-cli snap or AWS's bundle`,
          ),
        ];
      }
    }
    // amazon-eks-ami installs AWS's v2 bundle outside isolated regions and the distribution's package
    // inside them; eksnode uses the package everywhere so the image stays reproducible from repositories.
    return [await installRole(ctx, "awsCli")];
  },
};
