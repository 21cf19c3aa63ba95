/**
 * The per-message text path of the server: parse a JSON `say`, sanitise its text, check it is
 * not blank, and render it for text clients; plus the same steps on hostile input (escape
 * sequences, controls), and name validation.
 */
import { parseClientEvent } from "./event_parser.ts";
import { nameKey, validateName } from "./names.ts";
import { isBlank, sanitizeText } from "./sanitize.ts";
import { renderTextLines } from "./text_render.ts";

const limits = { maxTextBytes: 4096 };
const ts = "2024-01-01T00:00:00.000Z";
const plain = "hello everyone, this is an ordinary chat line of about eighty characters.";
const unicode = "héllo 日本語 😀 ".repeat(5);
const hostile = "\x1b[31mred\x1b[0m \x1b]0;title\x07\r\n\u202eevil\x07 ".repeat(5);
const big = "x".repeat(4000);

for (
  const [label, text] of [["ASCII", plain], ["Unicode", unicode], ["hostile", hostile], [
    "4000-byte",
    big,
  ]]
) {
  const body = new TextEncoder().encode(JSON.stringify({ type: "say", text }));
  Deno.bench(`parse a ${label} say from bytes`, { group: "parse" }, () => {
    const result = parseClientEvent(body, limits);
    if (!result.ok) throw result.error;
  });
  Deno.bench(`sanitise and blank-check ${label} text`, { group: "sanitise" }, () => {
    if (isBlank(sanitizeText(text!))) throw new Error("Blank");
  });
  Deno.bench(`render ${label} text for a text client`, { group: "render" }, () => {
    renderTextLines({ type: "message", id: 1, ts, from: "alice", text: text!, kind: "say" }, "bob");
  });
}

Deno.bench("validate an ASCII name", { group: "names" }, () => {
  if (!validateName("alice_99").ok) throw new Error("Refused");
});
Deno.bench("validate a non-ASCII name", { group: "names" }, () => {
  if (!validateName("Zoë-日本").ok) throw new Error("Refused");
});
Deno.bench("nameKey of an ASCII name", { group: "names" }, () => {
  nameKey("Alice_99");
});
Deno.bench("nameKey of a non-ASCII name", { group: "names" }, () => {
  nameKey("Zoë-日本");
});
