/**
 * AWS Signature Version 4 for one HTTP request, with Web Crypto: what eksnode's light EC2 client signs its
 * two reads with instead of loading the 60 MiB EC2 SDK. The algorithm is the one of the AWS General
 * Reference, "Create a signed AWS API request" (docs.aws.amazon.com/IAM/latest/UserGuide/
 * reference_sigv-create-signed-request.html); tests/lib/sigv4_test.ts checks it against that page's worked
 * example and against @smithy/signature-v4, the SDK's signer.
 */

/** Keys to sign with. */
export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The request to sign: headers other than Host and the x-amz-* ones the signer adds are signed as given. */
export interface SigV4Request {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/** Where and when to sign for. */
export interface SigV4Scope {
  region: string;
  service: string;
  /** Signing time (default: now). */
  now?: Date;
}

const encoder = new TextEncoder();

/**
 * The headers to send: the request's own, plus host, x-amz-date, x-amz-security-token (when the
 * credentials carry a session token) and authorization.
 * @example await signV4({ method: "POST", url, headers: {}, body }, creds, { region: "us-west-2", service: "ec2" })
 */
export async function signV4(
  req: SigV4Request,
  creds: SigV4Credentials,
  scope: SigV4Scope,
): Promise<Record<string, string>> {
  const amzDate = (scope.now ?? new Date()).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers.host = req.url.host;
  headers["x-amz-date"] = amzDate;
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;

  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(";");
  const canonicalHeaders = names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.url.pathname),
    canonicalQuery(req.url.searchParams),
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(req.body),
  ].join("\n");
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, credentialScope, await sha256Hex(canonicalRequest)]
    .join("\n");

  let key = await hmac(encoder.encode(`AWS4${creds.secretAccessKey}`), day);
  for (const part of [scope.region, scope.service, "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, stringToSign));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${credentialScope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** RFC 3986 encoding as SigV4 wants it: everything but A–Z a–z 0–9 - _ . ~ is percent-encoded. */
export function uriEscape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The path as every service but S3 signs it: the (already URL-encoded) path encoded once more, "/" kept. */
function canonicalPath(pathname: string): string {
  return uriEscape(pathname || "/").replace(/%2F/g, "/");
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params.entries()]
    .map(([k, v]) => [uriEscape(k), uriEscape(v)])
    .sort(([ak, av], [bk, bv]) => ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key: Uint8Array<ArrayBuffer> | ArrayBuffer, text: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, encoder.encode(text));
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}
