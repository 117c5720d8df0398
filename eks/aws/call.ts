/**
 * Region, endpoint and credentials for an AWS SDK client, derived from an explicit environment the
 * way the AWS CLI and SDKs do it, so callers (and parallel tests) never depend on Deno.env.
 *
 * Endpoint precedence follows the AWS SDKs and Tools reference guide, "Service-specific endpoints"
 * (docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): `AWS_ENDPOINT_URL_<SERVICE>` before
 * `AWS_ENDPOINT_URL`, both ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`. That the SDK itself
 * reads AWS_ENDPOINT_URL_EKS is checked against @aws-sdk/client-eks 3.1175.0 in tests/eks/aws/aws_api_test.ts.
 */
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { ConfigError } from "../../lib/errors.ts";
import { type BackoffOptions, withBackoff } from "../../lib/retry.ts";
import { partitionOf } from "./ecr_registry.ts";

/** An environment passed in explicitly, e.g. `Deno.env.toObject()` in main, a literal in tests. */
export type AwsEnv = Readonly<Record<string, string | undefined>>;

/** The AWS services eksnode calls, spelled as in their `AWS_ENDPOINT_URL_<ID>` variable. */
export type AwsServiceId = "EKS" | "EC2" | "ECR";

/** Static credentials, when the environment holds them. */
export interface AwsStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What an SDK client is built from, plus a human name of the endpoint for error messages. */
export interface AwsClientConfig {
  region: string;
  /** Set when the environment overrides the endpoint; undefined means the SDK's regional default. */
  endpoint?: string;
  /** Set when the environment holds keys; undefined means the SDK's default chain (instance role). */
  credentials?: AwsStaticCredentials;
  /** The endpoint as a user would name it in a bug report. */
  endpointLabel: string;
  /** The HTTP proxy the environment names for this endpoint (see {@link proxyFor}), if any. */
  proxy?: string;
}

/** The endpoint override for `service` in `env`, or undefined for the SDK default. */
export function endpointFromEnv(service: AwsServiceId, env: AwsEnv): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "").toLowerCase() === "true") return undefined;
  const specific = env[`AWS_ENDPOINT_URL_${service}`];
  if (specific) return specific;
  return env.AWS_ENDPOINT_URL || undefined;
}

/**
 * The default public endpoint of `service` in `region`: `https://<service>.<region>.<DNS suffix of the
 * region's partition>` (assets/partitions.json, {@link partitionOf}); ECR's API host is `api.ecr`. EC2
 * with `AWS_USE_FIPS_ENDPOINT=true` is `ec2-fips`, except in GovCloud where `ec2` is the FIPS one (the
 * SDK's EC2 endpoint rules, @aws-sdk/client-ec2 3.1169.0 dist-cjs/endpoint/ruleset.js). Throws a
 * ConfigError on a malformed region.
 * @example defaultEndpoint("EC2", "cn-north-1") // "https://ec2.cn-north-1.amazonaws.com.cn"
 */
export function defaultEndpoint(service: AwsServiceId, region: string, env: AwsEnv = {}): string {
  const part = partitionOf(region);
  const fips = service === "EC2" && (env.AWS_USE_FIPS_ENDPOINT ?? "").toLowerCase() === "true" &&
    part.id !== "aws-us-gov";
  const host = service === "ECR" ? "api.ecr" : fips ? "ec2-fips" : service.toLowerCase();
  return `https://${host}.${region}.${part.dnsSuffix}`;
}

/**
 * {@link defaultEndpoint} as a label (messages, the proxy's choice): never throws, a malformed region is
 * the call's own error to report; its label then names the region as given.
 */
function defaultEndpointLabel(service: AwsServiceId, region: string, env: AwsEnv): string {
  try {
    return defaultEndpoint(service, region, env);
  } catch {
    return `https://${service === "ECR" ? "api.ecr" : service.toLowerCase()}.${region}.amazonaws.com`;
  }
}

/**
 * Builds the client configuration for `service`: region from `region` or AWS_REGION /
 * AWS_DEFAULT_REGION, endpoint from the AWS_ENDPOINT_URL* variables, static keys when present.
 */
export function awsClientConfig(service: AwsServiceId, env: AwsEnv, region?: string): AwsClientConfig {
  const r = region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!r) {
    throw new ConfigError(
      `no AWS region for the ${service} API`,
      "set AWS_REGION, or run on EC2 so the region is read from instance metadata",
    );
  }
  const endpoint = endpointFromEnv(service, env);
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  const credentials = id && secret
    ? { accessKeyId: id, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN || undefined }
    : undefined;
  const endpointLabel = endpoint ?? defaultEndpointLabel(service, r, env);
  const out: AwsClientConfig = { region: r, endpoint, credentials, endpointLabel };
  const proxy = proxyFor(endpointLabel, env);
  if (proxy) out.proxy = proxy;
  return out;
}

/**
 * The proxy for a request to `url` under `env`, as Go's net/http ProxyFromEnvironment decides (nodeadm's
 * AWS SDK uses it; golang.org/x/net/http/httpproxy): HTTPS_PROXY (or https_proxy) for https://,
 * HTTP_PROXY (http_proxy) for http://, none for localhost and loopback addresses or a host NO_PROXY
 * (no_proxy) matches: `*`, a host name (also its subdomains; a leading dot is the same), `host:port`, an
 * IP address or a CIDR block.
 * @example proxyFor("https://eks.us-west-2.amazonaws.com", { HTTPS_PROXY: "http://proxy:3128" }) // "http://proxy:3128"
 */
export function proxyFor(url: string, env: AwsEnv): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const proxy = u.protocol === "https:"
    ? env.HTTPS_PROXY || env.https_proxy
    : u.protocol === "http:"
    ? env.HTTP_PROXY || env.http_proxy
    : undefined;
  if (!proxy) return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || /^127\./.test(host) || host === "::1") return undefined;
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  for (const raw of (env.NO_PROXY || env.no_proxy || "").split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return undefined;
    if (entry.includes("/")) {
      if (inCidr(host, entry)) return undefined;
      continue;
    }
    const m = /^(.*?)(?::([0-9]+))?$/.exec(entry.replace(/^\[(.*)\]/, "$1"))!;
    const [name, entryPort] = [m[1].replace(/^\*?\./, ""), m[2]];
    if (entryPort && entryPort !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return undefined;
  }
  return proxy.includes("://") ? proxy : `http://${proxy}`;
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const a = ipv4Number(host);
  const b = ipv4Number(base);
  const bits = Number(bitsText);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

function ipv4Number(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) < 256)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** One Deno HTTP client per proxy URL, made on first use (a client is a resource: made only when used). */
const proxyClients = new Map<string, Deno.HttpClient>();

/** The Deno HTTP client that sends through `proxy`, made once per proxy URL. */
export function proxyClient(proxy: string): Deno.HttpClient {
  let client = proxyClients.get(proxy);
  if (!client) {
    client = Deno.createHttpClient({ proxy: { url: proxy } });
    proxyClients.set(proxy, client);
  }
  return client;
}

/** An SDK request handler that sends through `proxy` (Deno's fetch with a proxying client). */
function proxiedHandler(proxy: string): FetchHttpHandler {
  return new FetchHttpHandler(
    { requestInit: () => ({ client: proxyClient(proxy) }) as RequestInit } as ConstructorParameters<
      typeof FetchHttpHandler
    >[0],
  );
}

/** HTTP status of an SDK error, when the service answered at all. */
export function sdkHttpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return typeof meta?.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

const THROTTLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ProvisionedThroughputExceededException",
  "PriorRequestNotComplete",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "ServerException",
  "InternalError",
  "InternalFailure",
]);

/** Whether an SDK error is throttling (by name or HTTP 429). */
export function isThrottling(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return sdkHttpStatus(err) === 429 ||
    (typeof name === "string" && /throttl|toomanyrequests|limitexceeded|slowdown/i.test(name));
}

/**
 * Whether an SDK error is worth another try: throttling (by name or 429), any 5xx, or no HTTP answer
 * at all (connection refused or reset, timeout). 4xx client errors are final, and so is finding no
 * credentials.
 */
export function isRetryableAwsError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name === "string" && THROTTLE_NAMES.has(name)) return true;
  // No credentials anywhere in the SDK's chain: another try finds none either.
  if (name === "CredentialsProviderError") return false;
  const status = sdkHttpStatus(err);
  if (status === undefined) return true;
  return status === 429 || status >= 500;
}

/** One line describing an SDK error without echoing request contents: name, status, message. */
export function describeSdkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = sdkHttpStatus(err);
  const code = (err as { code?: unknown }).code;
  const parts = err.name === "Error" ? [] : [err.name];
  if (status !== undefined) parts.push(`HTTP ${status}`);
  else if (typeof code === "string") parts.push(code);
  return parts.length > 0 ? `${parts.join(", ")}: ${err.message}` : err.message;
}

/** Options shared by the EKS, EC2 and ECR calls. */
export interface AwsCallOptions {
  /** Environment to read region, endpoint and credentials from (not Deno.env, so tests can run in parallel). */
  env: AwsEnv;
  /** Region; wins over AWS_REGION (init passes the one read from IMDS). */
  region?: string;
  /** Retry bounds (defaults: AWS_MAX_ATTEMPTS or 6 tries, 500 ms base, 10 s cap, 60 s in all). */
  retry?: Omit<BackoffOptions, "isRetryable">;
  /** Timeout of each HTTP request in ms (default 15000). */
  timeoutMs?: number;
}

/** The constructor options of any SDK v3 client: explicit region/endpoint/credentials, SDK retries off. */
export function sdkClientOptions(cfg: AwsClientConfig): {
  region: string;
  endpoint?: string;
  credentials?: AwsStaticCredentials;
  maxAttempts: number;
  requestHandler?: FetchHttpHandler;
} {
  const out: ReturnType<typeof sdkClientOptions> = { region: cfg.region, maxAttempts: 1 };
  if (cfg.endpoint) out.endpoint = cfg.endpoint;
  if (cfg.credentials) out.credentials = cfg.credentials;
  // The SDK's default (node:https) handler ignores proxy variables; Deno's fetch takes a proxy.
  if (cfg.proxy) out.requestHandler = proxiedHandler(cfg.proxy);
  return out;
}

/**
 * `AWS_MAX_ATTEMPTS` from `env`: the tries in all (the first included) an AWS SDK makes for one call
 * (AWS SDKs and Tools reference guide, "Retry behavior"). Undefined when unset; a ConfigError when it is
 * not a positive whole number.
 * @example awsMaxAttempts({ AWS_MAX_ATTEMPTS: "1" }) // 1
 */
export function awsMaxAttempts(env: AwsEnv): number | undefined {
  const text = env.AWS_MAX_ATTEMPTS?.trim();
  if (text === undefined || text === "") return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) {
    throw new ConfigError(
      `AWS_MAX_ATTEMPTS="${env.AWS_MAX_ATTEMPTS}" is not a positive whole number of attempts`,
      "unset AWS_MAX_ATTEMPTS or give it a number such as 3",
    );
  }
  return Number(text);
}

/** One try took longer than its timeout (retryable: it carries no HTTP status). */
export class RequestTimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Runs one SDK request under {@link withBackoff} with a per-try timeout; retries throttling, 5xx and
 * connection failures, and errors `retryAlso` accepts. The tries: `opts.retry.attempts`, else
 * AWS_MAX_ATTEMPTS of `opts.env`, else 6. When it gives up, throws what `fail(lastError, tries)` returns.
 */
export async function sendWithRetry<T>(
  send: (abortSignal: AbortSignal) => Promise<T>,
  opts: AwsCallOptions,
  fail: (err: unknown, tries: number) => Error,
  retryAlso: (err: unknown) => boolean = () => false,
): Promise<T> {
  const envAttempts = awsMaxAttempts(opts.env);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let tries = 0;
  try {
    return await withBackoff(async ({ remainingMs }) => {
      tries++;
      const ms = Math.max(1, Math.min(timeoutMs, remainingMs));
      const signal = AbortSignal.timeout(ms);
      try {
        return await send(signal);
      } catch (err) {
        // The SDK reports its own abort as a bare "Request aborted"; say what happened.
        if (signal.aborted) throw new RequestTimeoutError(`request timed out after ${ms} ms`, { cause: err });
        throw err;
      }
    }, {
      attempts: envAttempts ?? 6,
      baseMs: 500,
      maxMs: 10_000,
      totalMs: 60_000,
      ...opts.retry,
      isRetryable: (err) => isRetryableAwsError(err) || retryAlso(err),
    });
  } catch (err) {
    throw fail(err, tries);
  }
}

/** "1 try" / "3 tries". */
export function triesText(n: number): string {
  return `${n} ${n === 1 ? "try" : "tries"}`;
}
