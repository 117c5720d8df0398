/**
 * The instance role's credentials, read from IMDS by eksnode's own IMDSv2 client, for the one signed EC2
 * call of `eksnode init` at boot (DescribeInstances for the node name), when the AWS SDK's default chain
 * could only end at the instance role anyway. Loading that chain (@aws-sdk/credential-provider-node and
 * its providers) costs more start-up time than the two IMDS reads it ends with.
 *
 * The SDK's default chain (@aws-sdk/credential-provider-node 3.972.98, dist-es/defaultProvider.js and
 * remoteProvider.js) tries in order: keys in the environment (unless AWS_PROFILE is set); SSO, shared
 * config and credentials files, a credential process, a web identity token file (all from AWS_PROFILE or
 * the files, or AWS_WEB_IDENTITY_TOKEN_FILE); the container endpoint (AWS_CONTAINER_CREDENTIALS_*); then
 * IMDS, unless AWS_EC2_METADATA_DISABLED. {@link instanceRoleOnly} is true when none of those sources
 * is there, so reading the role from IMDS here gives what the chain would give; otherwise the caller
 * uses the SDK's chain.
 */
import type { SigV4Credentials } from "../../lib/sigv4.ts";
import type { AwsEnv } from "./call.ts";
import { ImdsClient } from "./imds.ts";

/** Environment variables that bring a source before the instance role, or change how IMDS is reached. */
const OTHER_SOURCES = [
  "AWS_PROFILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
  "AWS_EC2_INSTANCE_PROFILE_NAME",
] as const;

/** The shared config and credentials files the SDK reads (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else under ~/.aws). */
export function sharedFiles(env: AwsEnv): string[] {
  const home = env.HOME ?? Deno.env.get("HOME") ?? "/root";
  return [
    env.AWS_CONFIG_FILE ?? `${home}/.aws/config`,
    env.AWS_SHARED_CREDENTIALS_FILE ?? `${home}/.aws/credentials`,
  ];
}

/**
 * True when the SDK's default chain would find nothing before the instance role: no keys, no profile, no
 * shared files, no web identity, no container endpoint, IMDS enabled at its usual address family.
 * @example instanceRoleOnly({ HOME: "/root" }) // true on a fresh node
 */
export function instanceRoleOnly(env: AwsEnv): boolean {
  if (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY) return false;
  if (OTHER_SOURCES.some((k) => env[k] !== undefined && env[k] !== "")) return false;
  return sharedFiles(env).every((path) => !exists(path));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    // A file that is there but unreadable still makes the SDK try it: not the instance role alone.
    return !(err instanceof Deno.errors.NotFound);
  }
}

/** No credentials: named as the SDK names it, so the retry rules treat it as final (eks/aws/call.ts). */
export class NoInstanceRoleError extends Error {
  override name = "CredentialsProviderError";
}

/** Credentials with the time IMDS says they expire. */
interface RoleCredentials extends SigV4Credentials {
  expiresAt: number;
}

/** Renewed this long before they expire, as the SDK's chain treats credentials (5 minutes). */
const REFRESH_BEFORE_MS = 5 * 60_000;

let cached: Promise<RoleCredentials> | undefined;

/**
 * The instance role's credentials from IMDS (`iam/security-credentials/` then the role's document), kept
 * until 5 minutes before they expire. A node without an instance profile is a {@link NoInstanceRoleError}.
 * @example const creds = await instanceRoleCredentials(env);
 */
export async function instanceRoleCredentials(env: AwsEnv, imds?: ImdsClient): Promise<SigV4Credentials> {
  const current = cached && await cached.catch(() => undefined);
  if (current && current.expiresAt - Date.now() > REFRESH_BEFORE_MS) return current;
  cached = readRoleCredentials(imds ?? new ImdsClient({ env }));
  try {
    return await cached;
  } catch (err) {
    cached = undefined;
    throw err;
  }
}

/** Forgets the kept credentials (tests). */
export function forgetInstanceRoleCredentials(): void {
  cached = undefined;
}

async function readRoleCredentials(imds: ImdsClient): Promise<RoleCredentials> {
  const listing = await imds.getOptional("meta-data/iam/security-credentials/");
  const role = listing?.split("\n")[0]?.trim();
  if (!role) {
    throw new NoInstanceRoleError(
      `no credentials: no keys in the environment and no instance role in instance metadata at ${imds.endpoint} ` +
        "(attach an instance profile to the instance)",
    );
  }
  const text = await imds.get(`meta-data/iam/security-credentials/${role}`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new NoInstanceRoleError(`instance role ${role}: its credentials in instance metadata are not JSON`);
  }
  const { Code, AccessKeyId, SecretAccessKey, Token, Expiration } = doc;
  if (Code !== undefined && Code !== "Success") {
    throw new NoInstanceRoleError(`instance role ${role}: instance metadata answered Code ${String(Code)}`);
  }
  if (
    typeof AccessKeyId !== "string" || typeof SecretAccessKey !== "string" || !AccessKeyId || !SecretAccessKey
  ) {
    throw new NoInstanceRoleError(
      `instance role ${role}: no AccessKeyId and SecretAccessKey in instance metadata`,
    );
  }
  const expiresAt = typeof Expiration === "string" ? Date.parse(Expiration) : NaN;
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: typeof Token === "string" && Token ? Token : undefined,
    // Without a readable expiry the credentials are read again after 15 minutes.
    expiresAt: Number.isFinite(expiresAt) ? expiresAt : Date.now() + REFRESH_BEFORE_MS + 10 * 60_000,
  };
}
