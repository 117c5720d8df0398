/**
 * ECR GetAuthorizationToken, for pulling images (pause, CNI) from an ECR registry at bake or boot.
 * The SDK is imported lazily. The password is a secret: it is returned, never logged or put in errors.
 */
import { AwsApiError } from "../../lib/errors.ts";
import {
  type AwsCallOptions,
  awsClientConfig,
  describeSdkError,
  sdkClientOptions,
  sendWithRetry,
  triesText,
} from "./call.ts";

/** Registry login credentials, valid until `expiresAt` (12 hours after issue). */
export interface EcrCredentials {
  username: "AWS";
  password: string;
  /** e.g. https://602401143452.dkr.ecr.us-west-2.amazonaws.com */
  proxyEndpoint: string;
  expiresAt: Date;
}

/** Calls ECR GetAuthorizationToken in `region` and decodes the `AWS:<password>` token. */
export async function ecrAuthorizationToken(
  region: string,
  opts: Omit<AwsCallOptions, "region">,
): Promise<EcrCredentials> {
  const cfg = awsClientConfig("ECR", opts.env, region);
  const where = `ECR in ${cfg.region} (endpoint ${cfg.endpointLabel})`;
  const { ECRClient, GetAuthorizationTokenCommand } = await import("@aws-sdk/client-ecr");
  const client = new ECRClient(sdkClientOptions(cfg));
  try {
    const out = await sendWithRetry(
      (abortSignal) => client.send(new GetAuthorizationTokenCommand({}), { abortSignal }),
      { ...opts, region },
      (err, tries) =>
        new AwsApiError(
          `GetAuthorizationToken from ${where} failed after ${triesText(tries)}: ${describeSdkError(err)}`,
          "check network access to the endpoint and ecr:GetAuthorizationToken in the instance role",
          err,
        ),
    );
    const data = out.authorizationData?.[0];
    const token = data?.authorizationToken;
    if (!data || !token || !data.proxyEndpoint || !data.expiresAt) {
      throw new AwsApiError(`GetAuthorizationToken from ${where} returned no authorization data`);
    }
    let decoded: string;
    try {
      decoded = atob(token);
    } catch {
      decoded = "";
    }
    const colon = decoded.indexOf(":");
    if (colon < 0 || decoded.slice(0, colon) !== "AWS") {
      // Never echo the token itself.
      throw new AwsApiError(
        `GetAuthorizationToken from ${where} returned a token not of the form AWS:<password>`,
      );
    }
    return {
      username: "AWS",
      password: decoded.slice(colon + 1),
      proxyEndpoint: data.proxyEndpoint,
      expiresAt: data.expiresAt,
    };
  } finally {
    client.destroy();
  }
}
