/**
 * Just enough MIME to read EC2 user data: header blocks (RFC 5322 2.2 with folding), media types
 * with parameters (RFC 2045 5.1), multipart bodies (RFC 2046 5.1.1) and the base64 and
 * quoted-printable transfer encodings (RFC 2045 6.7, 6.8).
 *
 * Bodies are handled as "binary strings" (one char per byte, see {@link bytesToBinary}) so a part
 * may carry raw bytes such as gzip without a transfer encoding, as cloud-init and nodeadm allow.
 */

/** A malformed MIME structure; callers wrap it in their own error naming the input. */
export class MimeError extends Error {}

/** Header fields (names lower-cased, first occurrence kept) and the body that follows them. */
export interface MimeEntity {
  headers: Map<string, string>;
  /** Binary string of the body. */
  body: string;
}

/** A media type such as `multipart/mixed` (lower-cased) and its parameters (names lower-cased). */
export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** Maps each byte to the char with the same code, so string functions can work on binary data. */
export function bytesToBinary(bytes: Uint8Array): string {
  let out = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    out += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return out;
}

/** The inverse of {@link bytesToBinary}. */
export function binaryToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

const FIELD = /^([!-9;-~]+):(.*)$/;

/**
 * Splits `text` into a header block and a body. Returns undefined when a line before the first
 * blank line is not a header field, so plain YAML with a `---` or script text is told apart.
 */
export function parseHeaders(text: string): MimeEntity | undefined {
  const headers = new Map<string, string>();
  let current: string | undefined;
  let pos = 0;
  for (;;) {
    const nl = text.indexOf("\n", pos);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(pos, end).replace(/\r$/, "");
    const next = nl < 0 ? text.length : nl + 1;
    if (line === "") return { headers, body: text.slice(next) };
    if (/^[ \t]/.test(line)) {
      if (current === undefined && headers.size === 0) return undefined;
      if (current !== undefined) headers.set(current, `${headers.get(current)} ${line.trim()}`);
    } else {
      const m = FIELD.exec(line);
      if (!m) return undefined;
      const name = m[1].toLowerCase();
      current = headers.has(name) ? undefined : name;
      if (current !== undefined) headers.set(current, m[2].trim());
    }
    if (nl < 0) return { headers, body: "" };
    pos = next;
  }
}

/**
 * Parses a Content-Type value.
 * @example parseMediaType('multipart/mixed; boundary="//"') // { type: "multipart/mixed", params: { boundary: "//" } }
 */
export function parseMediaType(value: string): MediaType {
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(type)) {
    throw new MimeError(`malformed media type "${type}"`);
  }
  const params: Record<string, string> = {};
  let i = semi < 0 ? value.length : semi + 1;
  while (i < value.length) {
    while (i < value.length && /[\s;]/.test(value[i])) i++;
    if (i >= value.length) break;
    const eq = value.indexOf("=", i);
    if (eq < 0) throw new MimeError(`malformed parameter "${value.slice(i).trim()}" in "${type}"`);
    const name = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let val = "";
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < value.length) i++;
        val += value[i++];
      }
      if (i >= value.length) throw new MimeError(`unterminated quoted parameter "${name}" in "${type}"`);
      i++;
    } else {
      const stop = value.indexOf(";", i);
      val = value.slice(i, stop < 0 ? value.length : stop).trim();
      i = stop < 0 ? value.length : stop;
    }
    params[name] = val;
  }
  return { type, params };
}

/**
 * Returns the raw parts (binary strings, headers included) of a multipart body. The preamble and
 * epilogue are dropped; a missing close delimiter is tolerated, as cloud-init does.
 */
export function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let start = -1;
  let pos = 0;
  for (;;) {
    const nl = body.indexOf("\n", pos);
    const end = nl < 0 ? body.length : nl;
    const line = body.slice(pos, end).replace(/\r$/, "");
    if (line.startsWith(delimiter)) {
      const rest = line.slice(delimiter.length);
      const close = rest.startsWith("--") && rest.slice(2).trim() === "";
      if (close || rest.trim() === "") {
        if (start >= 0) parts.push(stripLineBreak(body.slice(start, pos)));
        if (close) return parts;
        start = nl < 0 ? body.length : nl + 1;
      }
    }
    if (nl < 0) break;
    pos = nl + 1;
  }
  if (start < 0) throw new MimeError(`no part starts with the boundary line "${delimiter}"`);
  parts.push(body.slice(start));
  return parts;
}

/** The line break before a delimiter belongs to the delimiter (RFC 2046 5.1.1). */
function stripLineBreak(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/** Decodes a body by its Content-Transfer-Encoding (absent, 7bit, 8bit, binary, base64, quoted-printable). */
export function decodeTransferEncoding(body: string, encoding: string | undefined): Uint8Array {
  const enc = (encoding ?? "").trim().toLowerCase();
  switch (enc) {
    case "":
    case "7bit":
    case "8bit":
    case "binary":
      return binaryToBytes(body);
    case "base64": {
      const bytes = decodeBase64(body);
      if (!bytes) throw new MimeError("body is not valid base64");
      return bytes;
    }
    case "quoted-printable":
      return decodeQuotedPrintable(body);
    default:
      throw new MimeError(`unsupported Content-Transfer-Encoding "${enc}"`);
  }
}

/** Decodes standard base64, ignoring whitespace; undefined when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  let compact = text.replace(/\s+/g, "");
  if (compact.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  if (compact.length % 4 === 1) return undefined;
  while (compact.length % 4 !== 0) compact += "=";
  try {
    return binaryToBytes(atob(compact));
  } catch {
    return undefined;
  }
}

function decodeQuotedPrintable(body: string): Uint8Array {
  const text = body.replace(/=\r?\n/g, "");
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(text.charCodeAt(i) & 0xff);
    }
  }
  return new Uint8Array(out);
}
