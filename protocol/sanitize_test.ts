import assert from "node:assert/strict";
import { isBlank, quote, sanitizeLine, sanitizeText } from "./sanitize.ts";

const R = "\uFFFD";

Deno.test("sanitizeText returns clean text unchanged", () => {
  for (
    const text of ["", "hello", "tab\there", "two\nlines", "é € 😀 日本語", "a\u200bb", "(╯°□°)╯"]
  ) {
    assert.equal(sanitizeText(text), text);
  }
});

Deno.test("sanitizeText drops CSI sequences, 7-bit and 8-bit", () => {
  assert.equal(sanitizeText("\x1b[31mred\x1b[0m"), "red");
  assert.equal(sanitizeText("\x1b[1;31;40mbold\x1b[m"), "bold");
  assert.equal(sanitizeText("a\x1b[2Jb"), "ab"); // clear screen
  assert.equal(sanitizeText("a\x1b[?25lb"), "ab"); // private parameter
  assert.equal(sanitizeText("a\x1b[1 qb"), "ab"); // intermediate byte
  assert.equal(sanitizeText("a\x9b31mb"), "ab"); // 8-bit CSI
  assert.equal(sanitizeText("a\x1b[A\x1b[2K\rforged"), "a\nforged");
});

Deno.test("sanitizeText drops what was read of a CSI cut short", () => {
  assert.equal(sanitizeText("a\x1b[31"), "a");
  assert.equal(sanitizeText("a\x1b["), "a");
  assert.equal(sanitizeText("a\x1b[31\nb"), "a\nb");
  assert.equal(sanitizeText("a\x1b[31éb"), "aéb");
});

Deno.test("sanitizeText drops OSC and other string commands up to their terminator", () => {
  assert.equal(sanitizeText("a\x1b]0;evil title\x07b"), "ab");
  assert.equal(sanitizeText("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"), "alinkb");
  assert.equal(sanitizeText("a\x9d0;title\x9cb"), "ab");
  assert.equal(sanitizeText("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab"); // DCS (sixel)
  assert.equal(sanitizeText("a\x1b_apc\x07b\x1b^pm\x07c\x1bXsos\x07d"), "abcd");
  assert.equal(sanitizeText("a\x90dcs\x9cb\x98sos\x9cc\x9epm\x9cd\x9fapc\x9ce"), "abcde");
  assert.equal(sanitizeText("a\x1b]52;c;aGk=\x07b"), "ab"); // clipboard write
});

Deno.test("sanitizeText keeps the text after an unterminated string command", () => {
  assert.equal(sanitizeText("a\x1b]0;title"), "a0;title");
  assert.equal(sanitizeText("\x9d\x9d\x9dx"), "x");
  assert.equal(sanitizeText("a\x1b]0;one\x1b]0;two"), "a0;one0;two");
});

Deno.test("sanitizeText drops other escape sequences", () => {
  assert.equal(sanitizeText("a\x1b(0b"), "ab"); // charset
  assert.equal(sanitizeText("a\x1bcb"), "ab"); // reset
  assert.equal(sanitizeText("a\x1b7b\x1b8c"), "abc"); // save, restore cursor
  assert.equal(sanitizeText("a\x1bMb"), "ab"); // reverse index
  assert.equal(sanitizeText("a\x1b#8b"), "ab");
  assert.equal(sanitizeText("a\x1b\\b"), "ab"); // a stray ST
});

Deno.test("sanitizeText makes a lone ESC visible", () => {
  assert.equal(sanitizeText("a\x1b"), `a${R}`);
  assert.equal(sanitizeText("a\x1b\x1b[31mb"), `a${R}b`);
  assert.equal(sanitizeText("a\x1bé"), `a${R}é`);
  assert.equal(sanitizeText("a\x1b\nb"), `a${R}\nb`);
});

Deno.test("sanitizeText makes control characters visible and keeps TAB and LF", () => {
  assert.equal(sanitizeText("a\x00b"), `a${R}b`);
  assert.equal(sanitizeText("a\x07b\x08c"), `a${R}b${R}c`);
  assert.equal(sanitizeText("a\x7fb"), `a${R}b`);
  assert.equal(sanitizeText("a\x80b\x9ac"), `a${R}b${R}c`);
  assert.equal(sanitizeText("a\x9cb"), `a${R}b`); // a stray 8-bit ST
  assert.equal(sanitizeText("a\tb\nc"), "a\tb\nc");
  for (let c = 0; c < 0x20; c++) {
    const out = sanitizeText(`x${String.fromCharCode(c)}y`);
    if (c === 0x1b) continue; // ESC starts sequences: tested above
    if (c === 0x09 || c === 0x0a) assert.equal(out.length, 3);
    else assert.ok(/^x(\uFFFD|\n|)y$/.test(out), `0x${c.toString(16)} gave ${JSON.stringify(out)}`);
  }
});

Deno.test("sanitizeText turns every line break into LF so no CR survives", () => {
  assert.equal(sanitizeText("a\r\nb"), "a\nb");
  assert.equal(sanitizeText("a\rb"), "a\nb");
  assert.equal(sanitizeText("a\r\r\nb"), "a\n\nb");
  assert.equal(sanitizeText("a\rbob: fake"), "a\nbob: fake");
  assert.equal(sanitizeText("a\vb\fc\x85d\u2028e\u2029f"), "a\nb\nc\nd\ne\nf");
  assert.equal(sanitizeText("end\r"), "end\n");
});

Deno.test("sanitizeText drops bidi controls", () => {
  const bidi = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069";
  assert.equal(sanitizeText(`a${bidi}b`), "ab");
  assert.equal(sanitizeText("\u202eevil.exe"), "evil.exe");
});

Deno.test("sanitizeText keeps surrogate pairs and replaces lone surrogates", () => {
  assert.equal(sanitizeText("😀"), "😀");
  assert.equal(sanitizeText("a\ud800b"), `a${R}b`);
  assert.equal(sanitizeText("a\udc00"), `a${R}`);
  assert.equal(sanitizeText("\ud83d\ud83d\ude00"), `${R}😀`);
});

Deno.test("sanitizeLine turns line breaks into single spaces", () => {
  assert.equal(sanitizeLine("one\ntwo"), "one two");
  assert.equal(sanitizeLine("one\r\ntwo\rthree\u2028four"), "one two three four");
  assert.equal(sanitizeLine("\x1b[31mred\x1b[0m\ttab"), "red\ttab");
  assert.equal(sanitizeLine("plain"), "plain");
});

/** A deterministic generator (LCG on 32 bits), so a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const ALPHABET = [
  "a",
  "Z",
  "0",
  " ",
  ";",
  "[",
  "]",
  "\\",
  "(",
  "#",
  "P",
  "_",
  "^",
  "X",
  "m",
  "?",
  "\x1b",
  "\x1b[",
  "\x1b]",
  "\x07",
  "\x1b\\",
  "\r",
  "\n",
  "\r\n",
  "\t",
  "\x00",
  "\x7f",
  "\x85",
  "\x90",
  "\x9b",
  "\x9c",
  "\x9d",
  "\u202e",
  "\u2066",
  "\u200e",
  "\u2028",
  "\ud83d",
  "\ude00",
  "😀",
  "é",
  "\u0301",
  "\ufffd",
];

/** Every character the sanitiser acts on, except LF. */
const FORBIDDEN =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

Deno.test("sanitizeText and sanitizeLine are idempotent and leave nothing to act on (random strings)", () => {
  const random = generator(20240601);
  for (let n = 0; n < 3000; n++) {
    let text = "";
    const length = Math.floor(random() * 24);
    for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)]!;
    const once = sanitizeText(text);
    assert.equal(sanitizeText(once), once, JSON.stringify(text));
    assert.ok(!FORBIDDEN.test(once), `${JSON.stringify(text)} gave ${JSON.stringify(once)}`);
    const line = sanitizeLine(text);
    assert.equal(sanitizeLine(line), line, JSON.stringify(text));
    assert.ok(!FORBIDDEN.test(line) && !line.includes("\n"), JSON.stringify(text));
    assert.equal(sanitizeLine(once), line, JSON.stringify(text));
  }
});

Deno.test("sanitizeText takes linear time on many unterminated string commands", () => {
  const text = "\x1b]".repeat(50_000) + "x";
  const started = performance.now();
  assert.equal(sanitizeText(text), "x");
  assert.ok(performance.now() - started < 1000);
});

Deno.test("isBlank is true for empty, whitespace and invisible-only text", () => {
  for (
    const text of [
      "",
      " ",
      "\t\n",
      "\r\n",
      "\u00a0\u3000\u2003",
      "\u200b\u200d\ufeff",
      "\x1b[0m ",
      "\u202e",
      "\u3164",
    ]
  ) {
    assert.ok(isBlank(text), JSON.stringify(text));
  }
});

Deno.test("isBlank is false when something visible remains", () => {
  for (const text of ["a", " a ", "\n.\n", "😀", "\x07", "\u0301"]) {
    assert.ok(!isBlank(text), JSON.stringify(text));
  }
});

Deno.test("quote escapes what a person could not see and shortens long values", () => {
  assert.equal(quote("alice"), '"alice"');
  assert.equal(quote("a b"), '"a b"');
  assert.equal(quote('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
  assert.equal(quote("a\u200bb"), '"a\\u{200B}b"');
  assert.equal(quote("\x1b[31m"), '"\\u{001B}[31m"');
  assert.equal(quote("a\nb"), '"a\\u{000A}b"');
  assert.equal(quote("\u00a0"), '"\\u{00A0}"');
  assert.equal(quote("\ud800"), '"\\u{D800}"');
  assert.equal(quote("😀"), '"😀"');
  assert.equal(quote("x".repeat(41)), `"${"x".repeat(40)}…"`);
  assert.equal(quote("x".repeat(40)), `"${"x".repeat(40)}"`);
  assert.equal(quote("😀".repeat(5), 3), '"😀😀😀…"');
});
