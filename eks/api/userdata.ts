/**
 * Finds the NodeConfigs in EC2 user data, the way nodeadm does (awslabs/amazon-eks-ami
 * nodeadm/internal/configprovider/userdata.go, mime.go, encoding.go; commits 410cd2b9, 09eea9e8,
 * 0f342ac3): the whole input may be base64 and then gzip; a MIME multipart document contributes
 * its `application/node.eks.aws` parts (each again maybe base64 and gzip); anything else is parsed
 * as a YAML/JSON stream of NodeConfigs. Beyond nodeadm: nested multipart, per-part
 * Content-Transfer-Encoding, several documents per part (`---`), and a report of skipped parts.
 *
 * Pure: bytes in, parts out. User data may hold secrets, so no error message quotes its content.
 */
import { parseAllDocuments } from "yaml";
import { ConfigError } from "../../lib/errors.ts";
import {
  bytesToBinary,
  decodeBase64,
  decodeTransferEncoding,
  MimeError,
  parseHeaders,
  parseMediaType,
  splitMultipart,
} from "../../lib/mime.ts";
import {
  isNodeConfigDocument,
  type NodeConfigInput,
  parseNodeConfigDocumentDetailed,
  type UnknownField,
} from "./nodeconfig.ts";
import { NODECONFIG_DOCS, NODECONFIG_MEDIA_TYPE } from "./values.ts";

/** One NodeConfig document found in user data, with a human name of where it was found. */
export interface NodeConfigPart {
  /** e.g. `user data part 2 (application/node.eks.aws)` or `/etc/eksnode/config.d/10.yaml document 2`. */
  origin: string;
  config: NodeConfigInput;
  /** Fields NodeConfig does not have, dropped from `config` (nodeadm ignores them too). */
  unknownFields: UnknownField[];
  /** What was read but deserves a word (eksnode's old flat environment form). */
  warnings: string[];
}

/** A piece of user data that holds no NodeConfig (a shell script, cloud-config, ...). */
export interface SkippedPart {
  origin: string;
  contentType: string;
  reason: string;
}

/** Everything {@link parseUserDataDetailed} found. */
export interface ParsedUserData {
  parts: NodeConfigPart[];
  skipped: SkippedPart[];
}

/** Largest decompressed size accepted from gzip (user data itself is at most 16 KiB). */
export const MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024;
const MAX_MULTIPART_DEPTH = 8;

/**
 * Cloud-init's non-MIME user-data formats, by first line ("User-data formats" in the cloud-init
 * docs, read 2025). None of them holds a NodeConfig.
 */
const CLOUD_INIT_MARKERS: [string, string][] = [
  ["#!", "text/x-shellscript"],
  ["#cloud-config-archive", "text/cloud-config-archive"],
  ["#cloud-config", "text/cloud-config"],
  ["#cloud-boothook", "text/cloud-boothook"],
  ["#include", "text/x-include-url"],
  ["#part-handler", "text/part-handler"],
  ["#upstart-job", "text/upstart-job"],
  ["## template: jinja", "text/jinja2"],
];

/**
 * Returns the NodeConfig documents in user data, in order; `origin` names the input in messages
 * (e.g. `user data` or a file path). Shell-script user data yields no parts.
 * @example await parseUserData(new TextEncoder().encode(yamlText), "user data")
 */
export async function parseUserData(bytes: Uint8Array, origin: string): Promise<NodeConfigPart[]> {
  return (await parseUserDataDetailed(bytes, origin)).parts;
}

/** Like {@link parseUserData}, and also reports the parts that were skipped and why. */
export async function parseUserDataDetailed(bytes: Uint8Array, origin: string): Promise<ParsedUserData> {
  const out: ParsedUserData = { parts: [], skipped: [] };
  const data = await unwrap(bytes, origin);
  const raw = bytesToBinary(data);
  const entity = parseHeaders(raw);
  const contentType = entity?.headers.get("content-type");
  if (entity && contentType !== undefined) {
    await readEntity(entity, origin, "", 0, out);
  } else {
    readPlain(data, origin, out);
  }
  return out;
}

/** Base64 of the whole input, then gzip, each optional (nodeadm decodeIfBase64, decompressIfGZIP). */
async function unwrap(bytes: Uint8Array, origin: string): Promise<Uint8Array> {
  let data = bytes;
  const compact = bytesToBinary(data).replace(/\s+/g, "");
  if (compact.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    data = decodeBase64(compact) ?? data;
  }
  if (isGzip(data)) data = await gunzip(data, origin);
  return data;
}

function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

async function gunzip(data: Uint8Array, origin: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    for await (const chunk of stream) {
      total += chunk.length;
      if (total > MAX_DECOMPRESSED_BYTES) {
        throw new ConfigError(
          `${origin} decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`,
          "user data should be a small NodeConfig; check what was compressed",
        );
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `${origin} starts like gzip but cannot be decompressed: ${errorText(err)}`,
      "compress user data with `gzip -c` and send the whole file",
      err,
    );
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

async function readEntity(
  entity: { headers: Map<string, string>; body: string },
  origin: string,
  label: string,
  depth: number,
  out: ParsedUserData,
): Promise<void> {
  const where = label === "" ? origin : `${origin} part ${label}`;
  const header = entity.headers.get("content-type");
  if (header === undefined) {
    out.skipped.push({ origin: where, contentType: "(none)", reason: "part has no Content-Type header" });
    return;
  }
  const media = mime(() => parseMediaType(header), where);
  const named = `${where} (${media.type})`;
  const body = mime(
    () => decodeTransferEncoding(entity.body, entity.headers.get("content-transfer-encoding")),
    named,
  );

  if (media.type.startsWith("multipart/")) {
    if (depth >= MAX_MULTIPART_DEPTH) {
      throw new ConfigError(`${named} nests multipart documents more than ${MAX_MULTIPART_DEPTH} deep`);
    }
    const boundary = media.params["boundary"];
    if (!boundary) {
      throw new ConfigError(
        `${named} has no boundary parameter`,
        'write e.g. Content-Type: multipart/mixed; boundary="//"',
      );
    }
    const rawParts = mime(() => splitMultipart(bytesToBinary(body), boundary), named);
    for (const [i, rawPart] of rawParts.entries()) {
      const n = label === "" ? `${i + 1}` : `${label}.${i + 1}`;
      const part = rawPart.startsWith("\n") || rawPart.startsWith("\r\n")
        ? { headers: new Map<string, string>(), body: rawPart.replace(/^\r?\n/, "") }
        : parseHeaders(rawPart);
      if (!part) {
        throw new ConfigError(
          `${origin} part ${n} has a malformed header block`,
          "each part starts with headers, then a blank line",
        );
      }
      await readEntity(part, origin, n, depth + 1, out);
    }
    return;
  }

  if (media.type === NODECONFIG_MEDIA_TYPE) {
    let data = decodeBase64(bytesToBinary(body)) ?? body;
    if (isGzip(data)) data = await gunzip(data, named);
    const text = decodeText(data);
    if (text === undefined) {
      throw new ConfigError(
        `${named} is neither UTF-8 text, base64 nor gzip`,
        "put the NodeConfig YAML in the part",
      );
    }
    const before = out.parts.length;
    readDocuments(text, named, true, out);
    if (out.parts.length === before) {
      throw new ConfigError(`${named} holds no NodeConfig document`, `see ${NODECONFIG_DOCS}`);
    }
    return;
  }

  out.skipped.push({ origin: named, contentType: media.type, reason: "not a NodeConfig part" });
}

function readPlain(data: Uint8Array, origin: string, out: ParsedUserData): void {
  const text = decodeText(data);
  if (text === undefined) {
    out.skipped.push({
      origin,
      contentType: "application/octet-stream",
      reason: "binary data that is not base64, gzip or UTF-8 text",
    });
    return;
  }
  if (text.trim() === "") return;
  const marker = CLOUD_INIT_MARKERS.find(([prefix]) => text.startsWith(prefix));
  if (marker) {
    out.skipped.push({ origin, contentType: marker[1], reason: `cloud-init ${marker[1]} user data` });
    return;
  }
  readDocuments(text, origin, false, out);
}

/**
 * Parses a YAML stream. In a NodeConfig part (`strict`) every document must be a NodeConfig; in
 * plain user data, text that is not YAML or documents of another kind are skipped.
 */
function readDocuments(text: string, origin: string, strict: boolean, out: ParsedUserData): void {
  // logLevel "error": the yaml library would print warnings (quoting the document) to stderr otherwise.
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, logLevel: "error" });
  const list = Array.isArray(docs) ? docs : [];
  const failed = list.find((d) => d.errors.length > 0);
  if (failed) {
    if (!strict && !text.includes("node.eks.aws") && !/^kind:\s*NodeConfig\s*$/m.test(text)) {
      out.skipped.push({ origin, contentType: "text/plain", reason: "text that is not YAML or JSON" });
      return;
    }
    const err = failed.errors[0];
    const at = ` at ${linePosition(text, err.pos[0])}`;
    throw new ConfigError(
      `invalid YAML in ${origin}${at}: ${err.message.split("\n")[0]}`,
      "check indentation (spaces, not tabs) and quoting",
    );
  }
  const values = list.map((d, i) => {
    try {
      return d.toJS({ maxAliasCount: 100 }) as unknown;
    } catch (err) {
      // e.g. an alias to an anchor defined later, or an alias bomb beyond maxAliasCount.
      const where = list.length > 1 ? `${origin} document ${i + 1}` : origin;
      throw new ConfigError(
        `invalid YAML in ${where}: ${(err as Error).message.split("\n")[0]}`,
        "define each &anchor before its *alias, and do not nest aliases deeply",
      );
    }
  }).filter((v) => v !== null && v !== undefined);
  for (const [i, value] of values.entries()) {
    const where = values.length > 1 ? `${origin} document ${i + 1}` : origin;
    if (!strict && !isNodeConfigDocument(value)) {
      const kind = typeof value === "object" && value !== null && "kind" in value
        ? `kind ${String((value as { kind: unknown }).kind)}`
        : "no apiVersion/kind";
      out.skipped.push({
        origin: where,
        contentType: "application/yaml",
        reason: `not a NodeConfig (${kind})`,
      });
      continue;
    }
    out.parts.push({ origin: where, ...parseNodeConfigDocumentDetailed(value, where) });
  }
}

/** "line L, column C" (1-based) of a character offset, for YAML errors (which must not quote the text). */
export function linePosition(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split("\n").length;
  const col = offset - (before.lastIndexOf("\n") + 1) + 1;
  return `line ${line}, column ${col}`;
}

function decodeText(data: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(data);
  } catch {
    return undefined;
  }
}

function mime<T>(fn: () => T, where: string): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MimeError) {
      throw new ConfigError(
        `malformed MIME in ${where}: ${err.message}`,
        "see RFC 2046 section 5.1 for multipart syntax",
        err,
      );
    }
    throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
