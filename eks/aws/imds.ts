/**
 * IMDSv2 client over `fetch`: a session token from `PUT /latest/api/token`, then GETs carrying it.
 * Paths and headers follow the EC2 user guide, "Use the Instance Metadata Service to access instance
 * metadata" and "Instance metadata categories" (docs.aws.amazon.com/AWSEC2/latest/UserGuide/).
 * The endpoint comes from AWS_EC2_METADATA_SERVICE_ENDPOINT, the per-request timeout from
 * AWS_METADATA_SERVICE_TIMEOUT (seconds) and the tries from AWS_METADATA_SERVICE_NUM_ATTEMPTS, as in the AWS
 * SDKs (AWS SDKs and Tools reference guide, "Amazon EC2 instance metadata"; fractions of seconds are
 * accepted too).
 */
import { ConfigError, MetadataError } from "../../lib/errors.ts";
import type { AwsEnv } from "./call.ts";
import { type BackoffOptions, withBackoff } from "../../lib/retry.ts";

/** The IMDS address on every EC2 instance (IPv4). */
export const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254";
/** Lifetime requested for the session token: 6 hours, the maximum IMDS grants. */
export const IMDS_TOKEN_TTL_SECONDS = 21600;

/**
 * How long a read waits for IMDS: at boot it may answer only after a while, and the node must not give
 * up. nodeadm's client (nodeadm/internal/aws/imds/imds.go, commit 81fec2e8) makes 60 attempts with
 * backoff capped at 1 s, about a minute; here 60 tries with full-jitter waits capped at 2 s (about 1 s
 * each on average), within 2 minutes in all, per metadata path.
 */
export const IMDS_RETRY: Readonly<Omit<BackoffOptions, "isRetryable">> = Object.freeze({
  attempts: 60,
  baseMs: 250,
  maxMs: 2000,
  totalMs: 120_000,
});

/** What `eksnode init` needs to know about the instance it runs on. */
export interface InstanceMetadata {
  instanceId: string;
  instanceType: string;
  region: string;
  availabilityZone: string;
  localIpv4: string;
  /** First IPv6 address of the primary interface, when it has one. */
  ipv6?: string;
  /** MAC of the primary interface. */
  mac: string;
  vpcIpv4Cidrs: string[];
  /** Set when the VPC has IPv6 blocks. */
  vpcIpv6Cidrs?: string[];
  /**
   * `meta-data/hostname`: the instance's DNS host name. Not always EC2's PrivateDnsName: in a VPC whose
   * DHCP option set has its own domain name it ends in that domain. The node name comes from EC2
   * DescribeInstances instead (eks/aws/ec2_api.ts `describePrivateDnsName`).
   */
  hostname: string;
  /** `meta-data/local-hostname`. */
  localHostname: string;
}

/** Options of {@link ImdsClient}; tests set small timeouts and retry bounds. */
export interface ImdsOptions {
  /** Source of AWS_EC2_METADATA_SERVICE_ENDPOINT (default: none, so the link-local address). */
  env?: AwsEnv;
  /** Explicit endpoint; wins over env. */
  endpoint?: string;
  /** Timeout of each HTTP request in ms (default 2000). */
  timeoutMs?: number;
  /** Retry policy per path (default {@link IMDS_RETRY}; AWS_METADATA_SERVICE_NUM_ATTEMPTS sets the tries). */
  retry?: Omit<BackoffOptions, "isRetryable">;
  /** Injectable fetch, for tests (default: global fetch). */
  fetch?: typeof fetch;
}

const HINT = "is this an EC2 instance with the metadata service enabled? " +
  "set AWS_EC2_METADATA_SERVICE_ENDPOINT to point elsewhere";

/** A failure worth retrying: 5xx, 429, timeout, connection error. */
class Transient extends Error {}

/** The result of one GET: body bytes, or undefined on 404. */
type Body = Uint8Array | undefined;

/** An IMDSv2 client: caches one session token and refreshes it on 401 or expiry. */
export class ImdsClient {
  readonly endpoint: string;
  readonly #timeoutMs: number;
  readonly #retry: Omit<BackoffOptions, "isRetryable">;
  readonly #fetch: typeof fetch;
  #token?: Promise<{ value: string; expiresAt: number }>;

  constructor(opts: ImdsOptions = {}) {
    const raw = opts.endpoint ?? opts.env?.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? DEFAULT_IMDS_ENDPOINT;
    this.endpoint = raw.replace(/\/+$/, "");
    const envSeconds = positiveEnv(opts.env, "AWS_METADATA_SERVICE_TIMEOUT", false);
    const envAttempts = positiveEnv(opts.env, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", true);
    this.#timeoutMs = opts.timeoutMs ?? (envSeconds === undefined ? 2000 : envSeconds * 1000);
    this.#retry = {
      ...IMDS_RETRY,
      ...(envAttempts === undefined ? {} : { attempts: envAttempts }),
      ...opts.retry,
    };
    this.#fetch = opts.fetch ?? fetch;
  }

  /** Reads `latest/<path>` as text; a 404 is a MetadataError. */
  async get(path: string): Promise<string> {
    const body = await this.getBytes(path);
    if (body === undefined) {
      throw new MetadataError(`instance metadata ${path} not found (404) at ${this.endpoint}`, HINT);
    }
    return new TextDecoder().decode(body).trim();
  }

  /** Reads `latest/<path>` as text, or undefined on 404 (for optional entries such as ipv6s). */
  async getOptional(path: string): Promise<string | undefined> {
    const body = await this.getBytes(path);
    return body === undefined ? undefined : new TextDecoder().decode(body).trim();
  }

  /** Reads `latest/<path>` as bytes, or undefined on 404, retrying transient failures within bounds. */
  async getBytes(path: string): Promise<Body> {
    let tries = 0;
    try {
      return await withBackoff(({ remainingMs }) => {
        tries++;
        return this.#getOnce(path, remainingMs);
      }, { ...this.#retry, isRetryable: (err) => err instanceof Transient });
    } catch (err) {
      if (err instanceof MetadataError) throw err;
      throw new MetadataError(
        `cannot read instance metadata ${path} from ${this.endpoint} ` +
          `(${tries} ${tries === 1 ? "try" : "tries"}): ${(err as Error).message}`,
        HINT,
        err,
      );
    }
  }

  /** The instance's user data, or undefined when the instance has none (404). */
  userData(): Promise<Uint8Array | undefined> {
    return this.getBytes("user-data");
  }

  /** Reads the instance facts `eksnode init` uses, in parallel. */
  async instanceMetadata(): Promise<InstanceMetadata> {
    const m = (p: string) => this.get(`meta-data/${p}`);
    // One read first: it takes the token and finds out whether IMDS is there at all, so an absent
    // IMDS costs one bounded retry loop, not eight in parallel.
    const instanceId = await m("instance-id");
    const [instanceType, region, availabilityZone, localIpv4, mac, hostname, localHostname] = await settleAll(
      [
        m("instance-type"),
        m("placement/region"),
        m("placement/availability-zone"),
        m("local-ipv4"),
        m("mac"),
        m("hostname"),
        m("local-hostname"),
      ],
    );
    const nic = `meta-data/network/interfaces/macs/${mac}`;
    const [v4, ipv6s, v6] = await settleAll([
      this.get(`${nic}/vpc-ipv4-cidr-blocks`),
      this.getOptional(`${nic}/ipv6s`),
      this.getOptional(`${nic}/vpc-ipv6-cidr-blocks`),
    ]);
    const vpcIpv6Cidrs = lines(v6);
    const out: InstanceMetadata = {
      instanceId,
      instanceType,
      region,
      availabilityZone,
      localIpv4,
      mac,
      vpcIpv4Cidrs: lines(v4),
      hostname,
      localHostname,
    };
    const ipv6 = lines(ipv6s)[0];
    if (ipv6) out.ipv6 = ipv6;
    if (vpcIpv6Cidrs.length > 0) out.vpcIpv6Cidrs = vpcIpv6Cidrs;
    return out;
  }

  async #getOnce(path: string, remainingMs: number): Promise<Body> {
    const url = `${this.endpoint}/latest/${path}`;
    for (let fresh = false;; fresh = true) {
      const token = await this.#sessionToken(remainingMs);
      const res = await this.#request(url, "GET", { "X-aws-ec2-metadata-token": token }, remainingMs);
      if (res.status === 401 && !fresh) {
        // The token expired or IMDS restarted: take a new one and try once more at once.
        this.#token = undefined;
        continue;
      }
      if (res.status === 200) return new Uint8Array(await res.arrayBuffer());
      await res.body?.cancel();
      if (res.status === 404) return undefined;
      if (res.status === 401 || res.status === 429 || res.status >= 500) {
        if (res.status === 401) this.#token = undefined;
        throw new Transient(`HTTP ${res.status}`);
      }
      throw new MetadataError(
        `instance metadata ${path} at ${this.endpoint} answered HTTP ${res.status}`,
        HINT,
      );
    }
  }

  #sessionToken(remainingMs: number): Promise<string> {
    const now = Date.now();
    const cached = this.#token;
    if (cached) {
      return cached.then((t) => {
        if (t.expiresAt > Date.now()) return t.value;
        this.#token = undefined;
        return this.#sessionToken(remainingMs);
      });
    }
    const p = this.#fetchToken(remainingMs).then((value) => ({
      value,
      // Renew a minute before IMDS would refuse it.
      expiresAt: now + (IMDS_TOKEN_TTL_SECONDS - 60) * 1000,
    }));
    this.#token = p;
    // A failed token request must not stay cached.
    p.catch(() => {
      if (this.#token === p) this.#token = undefined;
    });
    return p.then((t) => t.value);
  }

  async #fetchToken(remainingMs: number): Promise<string> {
    const url = `${this.endpoint}/latest/api/token`;
    const res = await this.#request(
      url,
      "PUT",
      { "X-aws-ec2-metadata-token-ttl-seconds": String(IMDS_TOKEN_TTL_SECONDS) },
      remainingMs,
    );
    if (res.status === 200) return (await res.text()).trim();
    await res.body?.cancel();
    if (res.status === 429 || res.status >= 500) throw new Transient(`token request: HTTP ${res.status}`);
    throw new MetadataError(
      `instance metadata token request (PUT /latest/api/token) at ${this.endpoint} answered HTTP ${res.status}`,
      res.status === 403
        ? "the metadata service is disabled for this instance; enable it (HttpEndpoint=enabled)"
        : HINT,
    );
  }

  async #request(url: string, method: string, headers: Record<string, string>, remainingMs: number) {
    const timeout = Math.max(1, Math.min(this.#timeoutMs, remainingMs));
    try {
      return await this.#fetch(url, { method, headers, signal: AbortSignal.timeout(timeout) });
    } catch (err) {
      const what = err instanceof DOMException && err.name === "TimeoutError"
        ? `timed out after ${timeout} ms`
        : errorText(err);
      throw new Transient(what, { cause: err });
    }
  }
}

/** A positive number (an integer with `integer`) from `env[name]`, undefined when unset; else a ConfigError. */
function positiveEnv(env: AwsEnv | undefined, name: string, integer: boolean): number | undefined {
  const text = env?.[name];
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!(n > 0) || (integer && !Number.isInteger(n)) || !/^\d+(\.\d+)?$/.test(text.trim())) {
    throw new ConfigError(
      `${name}="${text}" is not a positive ${integer ? "whole number" : "number of seconds"}`,
      `unset ${name} or give it a number`,
    );
  }
  return n;
}

/** Reads {@link InstanceMetadata} from IMDS; see {@link ImdsClient} for the options. */
export function instanceMetadata(opts: ImdsOptions = {}): Promise<InstanceMetadata> {
  return new ImdsClient(opts).instanceMetadata();
}

/** Reads the instance user data, or undefined when there is none. */
export function userData(opts: ImdsOptions = {}): Promise<Uint8Array | undefined> {
  return new ImdsClient(opts).userData();
}

/** Like Promise.all, but waits for every promise so no retry loop outlives the call. */
async function settleAll<T extends readonly unknown[]>(
  ps: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A fetch error's message with its cause, e.g. "fetch failed (Connection refused (os error 111))". */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

function lines(text: string | undefined): string[] {
  return (text ?? "").split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
}
