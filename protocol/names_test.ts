import assert from "node:assert/strict";
import { MAX_NAME_CHARS, nameKey, RESERVED_NAMES, validateName } from "./names.ts";

function accepted(raw: string): string {
  const result = validateName(raw);
  if (!result.ok) {
    throw new Error(`Expected ${JSON.stringify(raw)} to be accepted: ${result.error.message}`);
  }
  return result.name;
}

function refused(raw: string): string {
  const result = validateName(raw);
  if (result.ok) throw new Error(`Expected ${JSON.stringify(raw)} to be refused`);
  assert.equal(result.error.code, "bad_name");
  assert.match(result.error.message, /^[A-Z].*[^.]$/s);
  return result.error.message;
}

Deno.test("validateName accepts letters, digits, _, - and . in any script", () => {
  for (
    const name of [
      "alice",
      "Bob",
      "carol_99",
      "d-e.f",
      "_",
      "x",
      "Zoë",
      "José",
      "日本語",
      "Ωμέγα",
      "алиса",
      "ليلى",
      "١٢٣",
      "a".repeat(32),
    ]
  ) {
    assert.equal(accepted(name), name);
  }
});

Deno.test("validateName returns the NFC form and counts characters after NFC", () => {
  assert.equal(accepted("Zoe\u0308"), "Zo\u00eb");
  // 32 letters written as letter + combining mark: 64 code points sent, 32 after NFC.
  assert.equal(accepted("e\u0301".repeat(32)), "\u00e9".repeat(32));
  assert.match(refused("e\u0301".repeat(33)), /^Names must be 1 to 32 characters: .* has 33$/);
});

Deno.test("validateName accepts combining marks after a letter and refuses them elsewhere", () => {
  assert.equal(accepted("q\u0323\u0307"), "q\u0323\u0307"); // no precomposed form: stays 3
  assert.match(refused("\u0301a"), /combining mark must follow a letter/);
  assert.match(refused("1\u20e3"), /combining mark must follow a letter/);
  assert.match(refused("a_\u0301"), /combining mark must follow a letter/);
});

Deno.test("validateName refuses empty and too long names, saying how long they are", () => {
  assert.equal(refused(""), 'Names must be 1 to 32 characters: ""');
  assert.match(refused("x".repeat(MAX_NAME_CHARS + 1)), / has 33$/);
  assert.match(refused("日".repeat(40)), / has 40$/);
  assert.match(refused("x".repeat(5000)), /…" has 5000$/);
});

Deno.test("validateName refuses spaces and punctuation with the list of what is allowed", () => {
  assert.equal(refused("a b"), 'Names may only contain letters, digits, "_", "-" and ".": "a b"');
  for (
    const name of [
      " alice",
      "alice ",
      "a\u00a0b",
      "a\u3000b",
      "a@b",
      "a/b",
      "a:b",
      "😀",
      "a+b",
      "²",
    ]
  ) {
    assert.match(refused(name), /^Names may only contain letters, digits/, JSON.stringify(name));
  }
});

Deno.test("validateName refuses zero-width, bidi and control characters, showing them", () => {
  assert.equal(
    refused("a\u200bb"),
    'Names may not contain invisible or control characters: "a\\u{200B}b"',
  );
  for (
    const c of [
      "\u200c",
      "\u200d",
      "\u2060",
      "\ufeff",
      "\u202e",
      "\u2066",
      "\u200f",
      "\u061c",
      "\u00ad",
      "\u0085",
      "\u2028",
    ]
  ) {
    const message = refused(`ab${c}`);
    assert.match(message, /invisible or control characters/, JSON.stringify(c));
    assert.ok(!message.includes(c), "the character is shown escaped");
  }
  assert.match(refused("a\nb"), /^Names may not contain control characters: "a\\u\{000A\}b"$/);
  assert.match(refused("a\x1b[31m"), /control characters/);
  assert.match(refused("\u3164"), /^Names may not contain invisible characters: "\\u\{3164\}"$/);
  assert.match(refused("a\ud800"), /invisible or control/);
});

Deno.test("validateName refuses reserved names in any case and form", () => {
  for (const name of RESERVED_NAMES) {
    assert.match(refused(name), /reserved/);
    assert.match(refused(name.toUpperCase()), /reserved/);
  }
  assert.equal(refused("Admin"), 'This name is reserved, please pick another: "Admin"');
  assert.match(refused("\uff41\uff44\uff4d\uff49\uff4e"), /reserved/); // full-width "admin"
  assert.equal(accepted("admin2"), "admin2");
  assert.equal(accepted("servers"), "servers");
});

Deno.test("nameKey makes names that differ only in case collide", () => {
  assert.equal(nameKey("ALICE"), nameKey("alice"));
  assert.equal(nameKey("Alice"), nameKey("alice"));
  assert.equal(nameKey("ZOË"), nameKey("zoë"));
  assert.equal(nameKey("Zoe\u0308"), nameKey("zo\u00eb"));
  assert.equal(nameKey("ΟΔΥΣΣΕΥΣ"), nameKey("οδυσσευσ"));
  assert.equal(nameKey("Straße"), nameKey("STRASSE"));
  assert.equal(nameKey("\uff21lice"), nameKey("alice")); // full-width A
  assert.equal(nameKey("\u{1d7cf}"), nameKey("1")); // mathematical bold digit one
  assert.notEqual(nameKey("alice"), nameKey("alicia"));
  assert.notEqual(nameKey("bob"), nameKey("bob."));
});

Deno.test("nameKey handles the Turkish dotted and dotless I", () => {
  // Dotless ı upper-cases to I, so it collides with i and I (it looks like them).
  assert.equal(nameKey("\u0131van"), nameKey("Ivan"));
  assert.equal(nameKey("\u0131van"), nameKey("ivan"));
  // Dotted İ lower-cases to i + U+0307: the same name as that spelling, not as "istanbul".
  assert.equal(nameKey("\u0130stanbul"), nameKey("i\u0307stanbul"));
  assert.notEqual(nameKey("\u0130stanbul"), nameKey("istanbul"));
});

Deno.test("nameKey is idempotent", () => {
  for (
    const name of [
      "Alice",
      "Straße",
      "\u0130stanbul",
      "\u1f82",
      "\u01c4",
      "ΟΔΥΣΣΕΥΣ",
      "ǰ",
      "ａｌｉｃｅ",
    ]
  ) {
    assert.equal(nameKey(nameKey(name)), nameKey(name), name);
  }
});
