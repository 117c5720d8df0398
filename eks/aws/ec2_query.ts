/**
 * EC2's Query API (protocol "ec2", API version 2016-11-15) for eksnode's two EC2 reads, without the AWS
 * SDK's EC2 client: that client loads about 60 MiB and 0.4 s of JavaScript for a model of every EC2
 * operation, which `eksnode init` paid at every boot for one DescribeInstances (the node name). Here a
 * call is a form POST signed with SigV4 ({@link signV4}) and an XML answer ({@link parseXml}).
 *
 * What the SDK client did and this does too: the endpoint of `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL`
 * ({@link awsClientConfig}), else {@link defaultEndpoint}: `https://ec2.<region>.<partition DNS suffix>` (the SDK's EC2 endpoint
 * rules, @aws-sdk/client-ec2 3.1169.0 dist-cjs/endpoint/ruleset.js; with `AWS_USE_FIPS_ENDPOINT=true`
 * `ec2-fips.<region>…`, except in GovCloud where `ec2.<region>.amazonaws.com` is the FIPS one); static
 * keys from the environment; else the instance role read from IMDS by eksnode's own client when nothing
 * else could come first in the SDK's chain (a node at boot: {@link instanceRoleOnly}); else the SDK's
 * default credential chain (@aws-sdk/credential-provider-node: profile, SSO, web identity, container and
 * instance role), loaded only then; the proxy of
 * HTTPS_PROXY / NO_PROXY; errors named by their EC2 code with the HTTP status in `$metadata`, so the retry
 * rules of `aws_call.ts` read them as they read the SDK's.
 */
import { signV4, type SigV4Credentials } from "../../lib/sigv4.ts";
import { parseXml, xmlPath, xmlText } from "../../lib/xml_tree.ts";
import type { XmlElement } from "../../lib/xml_tree.ts";
import { type AwsClientConfig, type AwsEnv, defaultEndpoint, proxyClient } from "./call.ts";
import { instanceRoleCredentials, instanceRoleOnly } from "./instance_role_credentials.ts";

/** The EC2 API version every EC2 SDK speaks. */
const EC2_API_VERSION = "2016-11-15";

/** An error EC2 answered: `name` is its code (e.g. InvalidInstanceID.NotFound), `$metadata` its status. */
export class Ec2ApiError extends Error {
  override name: string;
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  constructor(code: string, message: string, status: number, requestId?: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status, requestId };
  }
}

type CredentialChainModule = typeof import("@aws-sdk/credential-provider-node");
let chainModule: Promise<CredentialChainModule> | undefined;
let chain: (() => Promise<SigV4Credentials>) | undefined;

/**
 * Starts getting credentials when `env` holds no keys, so that a call made later does not wait for them
 * (init starts it while it reads instance metadata): the instance role's from IMDS, or else the SDK's
 * credential chain is loaded. A read nobody awaits is harmless.
 */
export function preloadEc2Credentials(env: AwsEnv): void {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return;
  if (instanceRoleOnly(env)) {
    instanceRoleCredentials(env).catch(() => {});
    return;
  }
  chainModule ??= import("@aws-sdk/credential-provider-node");
  chainModule.catch(() => {});
}

/** Credentials for a call without keys in its config: the instance role's when nothing else could come first. */
function credentialsFor(env: AwsEnv): Promise<SigV4Credentials> {
  return instanceRoleOnly(env) ? instanceRoleCredentials(env) : chainCredentials();
}

/** Credentials from the SDK's default chain, loaded on first use and kept (it caches and refreshes). */
async function chainCredentials(): Promise<SigV4Credentials> {
  if (!chain) {
    chainModule ??= import("@aws-sdk/credential-provider-node");
    chain = (await chainModule).defaultProvider();
  }
  return await chain();
}

/**
 * Calls `action` with `params` (Query names such as `InstanceId.1`) and returns the answer's root element;
 * an answer other than 2xx is an {@link Ec2ApiError}.
 * @example await ec2Call(cfg, env, "DescribeInstances", { "InstanceId.1": id }, signal)
 */
export async function ec2Call(
  cfg: AwsClientConfig,
  env: AwsEnv,
  action: string,
  params: Record<string, string>,
  signal: AbortSignal,
): Promise<XmlElement> {
  const url = new URL(cfg.endpoint ?? defaultEndpoint("EC2", cfg.region, env));
  const body = new URLSearchParams({ Action: action, Version: EC2_API_VERSION, ...params }).toString();
  const creds = cfg.credentials ?? await credentialsFor(env);
  const headers = await signV4(
    {
      method: "POST",
      url,
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body,
    },
    creds,
    { region: cfg.region, service: "ec2" },
  );
  // fetch sets Host itself, from the same URL the signature covers.
  delete headers.host;
  const init: RequestInit & { client?: Deno.HttpClient } = { method: "POST", headers, body, signal };
  if (cfg.proxy) init.client = proxyClient(cfg.proxy);
  const res = await fetch(url, init);
  const text = await res.text();
  let root: XmlElement | undefined;
  try {
    root = parseXml(text);
  } catch {
    root = undefined;
  }
  if (res.ok && root) return root;
  const error = xmlPath(root, "Errors", "Error")[0];
  const requestId = xmlText(root, "RequestID") ?? xmlText(root, "RequestId");
  if (error) {
    throw new Ec2ApiError(
      xmlText(error, "Code") || "Ec2HttpError",
      xmlText(error, "Message") || `EC2 answered HTTP ${res.status}`,
      res.status,
      requestId,
    );
  }
  throw new Ec2ApiError(
    res.ok ? "MalformedAnswer" : "Ec2HttpError",
    res.ok ? `EC2 answered HTTP ${res.status} with no XML document` : `EC2 answered HTTP ${res.status}`,
    res.status,
  );
}
