import assert from "node:assert/strict";
import { parseXml, xmlPath, xmlText } from "../../lib/xml_tree.ts";

Deno.test("xml: elements, text, entities, CDATA, comments, prefixes and attributes with '>' in quotes", () => {
  const root = parseXml(
    `<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment --><ns:R xmlns:ns="u" a="x>y"><a>1 &amp; 2 &lt;3&#x41;&#66;</a>` +
      `<b/><set><item><v>one</v></item><item><v><![CDATA[<two>]]></v></item></set></ns:R>`,
  );
  assert.equal(root.name, "R");
  assert.equal(xmlText(root, "a"), "1 & 2 <3AB");
  assert.equal(xmlText(root, "b"), "");
  assert.equal(xmlText(root, "missing"), undefined);
  assert.deepEqual(xmlPath(root, "set", "item", "v").map((e) => e.text), ["one", "<two>"]);
});

Deno.test("xml: malformed documents are errors naming what is wrong", () => {
  for (
    const [doc, pattern] of [
      ["<a><b></a>", /does not close <b>/],
      ["<a>", /<a> is never closed/],
      ["", /no root element/],
      ["text", /text outside the root/],
      ["<a/><b/>", /second root element/],
      ["<html><body>Bad gateway", /never closed/],
      ["<a x='1", /unterminated tag/],
    ] as const
  ) {
    assert.throws(() => parseXml(doc), pattern, doc);
  }
});
