/**
 * A small XML reader for AWS Query-protocol answers (EC2's `<DescribeInstancesResponse>`, the
 * `<Response><Errors>` envelope): elements, their text, the five predefined entities, character
 * references and CDATA. Attributes, comments, processing instructions and the DOCTYPE are skipped: the
 * answers carry their data in elements. Malformed input is an Error naming the offset.
 */

/** One element: its local name (prefix dropped), child elements in order, and its own text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeText(raw: string): string {
  return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/**
 * Parses `text` into its root element.
 * @example parseXml("<a><b>1</b></a>").children[0].text // "1"
 */
export function parseXml(text: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const chunk = text.slice(i, lt === -1 ? text.length : lt);
    if (stack.length > 0) stack[stack.length - 1].text += decodeText(chunk);
    else if (chunk.trim() !== "") throw new Error(`XML: text outside the root element at offset ${i}`);
    if (lt === -1) break;
    if (text.startsWith("<!--", lt)) {
      i = skipPast(text, "-->", lt);
    } else if (text.startsWith("<![CDATA[", lt)) {
      const end = text.indexOf("]]>", lt);
      if (end === -1 || stack.length === 0) throw new Error(`XML: bad CDATA section at offset ${lt}`);
      stack[stack.length - 1].text += text.slice(lt + 9, end);
      i = end + 3;
    } else if (text.startsWith("<?", lt)) {
      i = skipPast(text, "?>", lt);
    } else if (text.startsWith("<!", lt)) {
      i = skipPast(text, ">", lt);
    } else if (text.startsWith("</", lt)) {
      const gt = text.indexOf(">", lt);
      if (gt === -1) throw new Error(`XML: unterminated end tag at offset ${lt}`);
      const name = localName(text.slice(lt + 2, gt).trim());
      const open = stack.pop();
      if (!open || open.name !== name) {
        throw new Error(`XML: </${name}> at offset ${lt} does not close <${open?.name ?? "nothing"}>`);
      }
      i = gt + 1;
    } else {
      const gt = tagEnd(text, lt);
      const selfClosing = text[gt - 1] === "/";
      const inner = text.slice(lt + 1, selfClosing ? gt - 1 : gt);
      const name = localName(/^[^\s/>]+/.exec(inner)?.[0] ?? "");
      if (name === "") throw new Error(`XML: a tag without a name at offset ${lt}`);
      const el: XmlElement = { name, children: [], text: "" };
      if (stack.length > 0) stack[stack.length - 1].children.push(el);
      else if (root) throw new Error(`XML: a second root element <${name}> at offset ${lt}`);
      else root = el;
      if (!selfClosing) stack.push(el);
      i = gt + 1;
    }
  }
  if (stack.length > 0) throw new Error(`XML: <${stack[stack.length - 1].name}> is never closed`);
  if (!root) throw new Error("XML: no root element");
  return root;
}

function skipPast(text: string, marker: string, from: number): number {
  const end = text.indexOf(marker, from);
  if (end === -1) throw new Error(`XML: unterminated markup at offset ${from}`);
  return end + marker.length;
}

/** The `>` that ends the tag starting at `lt`, skipping quoted attribute values. */
function tagEnd(text: string, lt: number): number {
  let quote = "";
  for (let j = lt + 1; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return j;
  }
  throw new Error(`XML: unterminated tag at offset ${lt}`);
}

function localName(qname: string): string {
  const colon = qname.indexOf(":");
  return colon === -1 ? qname : qname.slice(colon + 1);
}

/** The first child element named `name`, if any. */
export function xmlChild(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/**
 * The elements reached from `el` by following child names; "item" steps fan out over every item.
 * @example xmlPath(root, "reservationSet", "item", "instancesSet", "item") // every instance element
 */
export function xmlPath(el: XmlElement | undefined, ...names: string[]): XmlElement[] {
  let level = el ? [el] : [];
  for (const name of names) level = level.flatMap((e) => e.children.filter((c) => c.name === name));
  return level;
}

/** The text of the child `name` of `el`, or undefined when there is no such child. */
export function xmlText(el: XmlElement | undefined, name: string): string | undefined {
  return xmlChild(el, name)?.text;
}
