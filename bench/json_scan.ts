/**
 * A one-pass scanner for the top level of a server event's JSON body, for the load process,
 * which cannot afford `JSON.parse` for every one of millions of deliveries. It finds where the
 * values of `type`, `from`, `text`, `code` and `id` lie and whether `history` is `true`,
 * skipping every other value (nested objects and arrays too, strings included), without
 * decoding or copying anything.
 *
 * @module
 */

const _QUOTE = 0x22;
const _BACKSLASH = 0x5c;
const _COLON = 0x3a;
const _COMMA = 0x2c;
const _OPEN_BRACE = 0x7b;
const _CLOSE_BRACE = 0x7d;
const _OPEN_BRACKET = 0x5b;
const _CLOSE_BRACKET = 0x5d;

/**
 * Where the interesting values of one event lie, as `[start, end)` byte offsets into the body
 * (string values without their quotes; -1 when absent). Reused across calls.
 */
export interface EventFields {
  typeStart: number;
  typeEnd: number;
  fromStart: number;
  fromEnd: number;
  textStart: number;
  textEnd: number;
  /** True when the `text` value contains a backslash escape (so its bytes are not its text). */
  textEscaped: boolean;
  codeStart: number;
  codeEnd: number;
  /** The `id` value's bytes, quotes included for a string (a JSON value as written). */
  idStart: number;
  idEnd: number;
  /** True when the event has `"history": true`. */
  history: boolean;
}

/**
 * Makes an empty {@linkcode EventFields} for {@linkcode scanEvent} to fill.
 *
 * @returns fields with nothing found
 */
export function newEventFields(): EventFields {
  return {
    typeStart: -1,
    typeEnd: -1,
    fromStart: -1,
    fromEnd: -1,
    textStart: -1,
    textEnd: -1,
    textEscaped: false,
    codeStart: -1,
    codeEnd: -1,
    idStart: -1,
    idEnd: -1,
    history: false,
  };
}

function _isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Set by {@linkcode _skipString}: whether the last string skipped had a backslash escape. */
let _escaped = false;

/** Index just past the closing quote of the string that opens at `at`; -1 if unterminated. */
function _skipString(body: Uint8Array, at: number): number {
  const end = body.length;
  _escaped = false;
  for (let i = at + 1; i < end; i++) {
    const byte = body[i]!;
    if (byte === _QUOTE) return i + 1;
    if (byte === _BACKSLASH) {
      _escaped = true;
      i++;
    }
  }
  return -1;
}

/** Index just past the value that starts at `at` (string, object, array or scalar); -1 if bad. */
function _skipValue(body: Uint8Array, at: number): number {
  const end = body.length;
  const first = body[at];
  if (first === _QUOTE) return _skipString(body, at);
  if (first === _OPEN_BRACE || first === _OPEN_BRACKET) {
    let depth = 0;
    for (let i = at; i < end; i++) {
      const byte = body[i]!;
      if (byte === _QUOTE) {
        i = _skipString(body, i);
        if (i < 0) return -1;
        i--;
      } else if (byte === _OPEN_BRACE || byte === _OPEN_BRACKET) {
        depth++;
      } else if (byte === _CLOSE_BRACE || byte === _CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return -1;
  }
  let i = at;
  while (i < end) {
    const byte = body[i]!;
    if (byte === _COMMA || byte === _CLOSE_BRACE || _isSpace(byte)) break;
    i++;
  }
  return i === at ? -1 : i;
}

/** True if the key `body[start, end)` spells `word` (ASCII). */
function _keyIs(body: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if (body[start + i] !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Scans a JSON object's top level once and notes where `type`, `from`, `text`, `code` and `id`
 * lie and whether `history` is `true`. String values must be strings to be noted. The scan is
 * string-aware (a `"from":` inside a string or a nested object is never taken for a key) but
 * does not validate everything JSON requires (numbers and literals are only delimited).
 *
 * @param body the UTF-8 JSON text
 * @param out filled in; every field is reset first
 * @returns true for a well-formed top-level object, false otherwise
 * @example Find the sender and the text of a message
 * ```ts
 * import assert from "node:assert/strict";
 * import { newEventFields, scanEvent } from "./json_scan.ts";
 * const body = new TextEncoder().encode('{"type":"message","from":"ann","text":"hi"}');
 * const fields = newEventFields();
 * assert.ok(scanEvent(body, fields));
 * assert.ok(new TextDecoder().decode(body.subarray(fields.fromStart, fields.fromEnd)) === "ann");
 * ```
 */
export function scanEvent(body: Uint8Array, out: EventFields): boolean {
  out.typeStart =
    out.typeEnd =
    out.fromStart =
    out.fromEnd =
      -1;
  out.textStart =
    out.textEnd =
    out.codeStart =
    out.codeEnd =
    out.idStart =
    out.idEnd =
      -1;
  out.textEscaped = false;
  out.history = false;
  const end = body.length;
  let i = 0;
  while (i < end && _isSpace(body[i]!)) i++;
  if (body[i] !== _OPEN_BRACE) return false;
  i++;
  while (i < end && _isSpace(body[i]!)) i++;
  if (body[i] === _CLOSE_BRACE) return _onlySpaceAfter(body, i + 1);
  while (i < end) {
    if (body[i] !== _QUOTE) return false;
    const keyStart = i + 1;
    const keyAfter = _skipString(body, i);
    if (keyAfter < 0) return false;
    const keyEnd = keyAfter - 1;
    i = keyAfter;
    while (i < end && _isSpace(body[i]!)) i++;
    if (body[i] !== _COLON) return false;
    i++;
    while (i < end && _isSpace(body[i]!)) i++;
    const valueStart = i;
    const valueEnd = _skipValue(body, i);
    if (valueEnd < 0) return false;
    const isString = body[valueStart] === _QUOTE;
    const keyLength = keyEnd - keyStart;
    if (keyLength === 4 && isString) {
      const second = body[keyStart + 1];
      if (second === 0x79 && _keyIs(body, keyStart, keyEnd, "type")) {
        out.typeStart = valueStart + 1;
        out.typeEnd = valueEnd - 1;
      } else if (second === 0x72 && _keyIs(body, keyStart, keyEnd, "from")) {
        out.fromStart = valueStart + 1;
        out.fromEnd = valueEnd - 1;
      } else if (second === 0x65 && _keyIs(body, keyStart, keyEnd, "text")) {
        out.textStart = valueStart + 1;
        out.textEnd = valueEnd - 1;
        out.textEscaped = _escaped;
      } else if (second === 0x6f && _keyIs(body, keyStart, keyEnd, "code")) {
        out.codeStart = valueStart + 1;
        out.codeEnd = valueEnd - 1;
      }
    } else if (keyLength === 2 && _keyIs(body, keyStart, keyEnd, "id")) {
      out.idStart = valueStart;
      out.idEnd = valueEnd;
    } else if (keyLength === 7 && _keyIs(body, keyStart, keyEnd, "history")) {
      out.history = _keyIs(body, valueStart, valueEnd, "true");
    }
    i = valueEnd;
    while (i < end && _isSpace(body[i]!)) i++;
    if (body[i] === _COMMA) {
      i++;
      while (i < end && _isSpace(body[i]!)) i++;
      continue;
    }
    if (body[i] === _CLOSE_BRACE) return _onlySpaceAfter(body, i + 1);
    return false;
  }
  return false;
}

function _onlySpaceAfter(body: Uint8Array, at: number): boolean {
  for (let i = at; i < body.length; i++) {
    if (!_isSpace(body[i]!)) return false;
  }
  return true;
}

/**
 * Tells whether `body[start, end)` holds exactly the ASCII bytes of `word`.
 *
 * @param body the bytes
 * @param start the first index
 * @param end the index just past the last
 * @param word an ASCII word, such as an event type
 * @returns true on an exact match
 * @example Check an event type
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesEqualAscii } from "./json_scan.ts";
 * const bytes = new TextEncoder().encode("join");
 * assert.ok(bytesEqualAscii(bytes, 0, 4, "join") && !bytesEqualAscii(bytes, 0, 4, "jam"));
 * ```
 */
export function bytesEqualAscii(
  body: Uint8Array,
  start: number,
  end: number,
  word: string,
): boolean {
  return start >= 0 && _keyIs(body, start, end, word);
}

/**
 * Tells whether `body[start, end)` holds exactly the bytes of `expected`.
 *
 * @param body the bytes
 * @param start the first index
 * @param end the index just past the last
 * @param expected the bytes to compare with
 * @returns true on an exact match
 * @example Check a sender's name
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesEqual } from "./json_scan.ts";
 * const name = new TextEncoder().encode("user7");
 * assert.ok(bytesEqual(new TextEncoder().encode('"user7"'), 1, 6, name));
 * ```
 */
export function bytesEqual(
  body: Uint8Array,
  start: number,
  end: number,
  expected: Uint8Array,
): boolean {
  if (start < 0 || end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) {
    if (body[start + i] !== expected[i]) return false;
  }
  return true;
}
