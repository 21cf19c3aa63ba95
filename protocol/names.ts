/**
 * User names: what a valid name is ({@linkcode validateName}) and when two names are the same
 * name ({@linkcode nameKey}).
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { quote } from "./sanitize.ts";

/** The most characters (code points, after NFC normalisation) a name may have. */
export const MAX_NAME_CHARS = 32;

/**
 * The names nobody may take, in any case (compared with {@linkcode nameKey}), because a person
 * could mistake messages from them for messages from the server.
 */
export const RESERVED_NAMES: readonly string[] = Object.freeze([
  "server",
  "system",
  "admin",
  "root",
  "chat",
  "everyone",
  "here",
]);

const _RESERVED_KEYS: ReadonlySet<string> = new Set(RESERVED_NAMES);

/** The outcome of {@linkcode validateName}: the name to use, or why it was refused. */
export type NameResult =
  | { readonly ok: true; readonly name: string }
  | { readonly ok: false; readonly error: ProtocolError };

const _LETTER = /\p{L}/uy;
const _MARK = /\p{M}/uy;
const _DIGIT = /\p{Nd}/uy;
/**
 * Letters that render as nothing (Hangul fillers). They are `\p{L}` but would let a name look
 * empty or like another name.
 */
const _INVISIBLE_LETTERS: ReadonlySet<number> = new Set([0x115f, 0x1160, 0x3164, 0xffa0]);
/** Format, control, surrogate, private-use and unassigned characters, line separators. */
const _INVISIBLE = /[\p{C}\p{Zl}\p{Zp}]/uy;

const _ALLOWED = 'Names may only contain letters, digits, "_", "-" and "."';

function _refuse(message: string): NameResult {
  return { ok: false, error: new ProtocolError("bad_name", message) };
}

function _tooLong(name: string): NameResult {
  let count = 0;
  for (const _ of name) count++;
  return _refuse(`Names must be 1 to ${MAX_NAME_CHARS} characters: ${quote(name)} has ${count}`);
}

/** Is the UTF-16 unit an ASCII letter or digit, `_`, `-` or `.`? */
function _isAsciiNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x5f || c === 0x2d || c === 0x2e;
}

function _matchesAt(pattern: RegExp, text: string, index: number): boolean {
  pattern.lastIndex = index;
  return pattern.test(text);
}

/**
 * Checks a requested name against the rules and returns it in the form to use: NFC-normalised.
 *
 * A name is 1 to 32 characters (code points after NFC): letters (`\p{L}`, each optionally
 * followed by combining marks `\p{M}`), decimal digits (`\p{Nd}`), `_`, `-` and `.`. Spaces,
 * zero-width characters, bidi controls, Hangul fillers and everything else are refused, and so
 * are the {@linkcode RESERVED_NAMES} in any case. Nothing is trimmed: `" alice"` is refused.
 *
 * @param raw the name as the client sent it
 * @returns `{ ok: true, name }` with the normalised name, or `{ ok: false, error }` with a
 *   `bad_name` {@linkcode ProtocolError} whose message says what is wrong
 * @example Accept and refuse
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateName } from "./names.ts";
 * const good = validateName("alice");
 * assert.ok(good.ok && good.name === "alice");
 * const bad = validateName("a b");
 * assert.ok(!bad.ok && bad.error.code === "bad_name");
 * ```
 */
export function validateName(raw: string): NameResult {
  let ascii = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (!_isAsciiNameChar(c)) {
      ascii = false;
      break;
    }
  }
  const name = ascii ? raw : raw.normalize("NFC");
  if (name.length === 0) return _refuse(`Names must be 1 to ${MAX_NAME_CHARS} characters: ""`);

  if (!ascii) {
    let count = 0;
    let afterLetter = false;
    for (let i = 0; i < name.length;) {
      const c = name.codePointAt(i)!;
      count++;
      if (count > MAX_NAME_CHARS) return _tooLong(name);
      if (c < 0x80) {
        if (!_isAsciiNameChar(c)) {
          if (c < 0x20 || c === 0x7f) {
            return _refuse(`Names may not contain control characters: ${quote(name)}`);
          }
          return _refuse(`${_ALLOWED}: ${quote(name)}`);
        }
        afterLetter = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
      } else if (_INVISIBLE_LETTERS.has(c)) {
        return _refuse(`Names may not contain invisible characters: ${quote(name)}`);
      } else if (_matchesAt(_LETTER, name, i)) {
        afterLetter = true;
      } else if (_matchesAt(_MARK, name, i)) {
        if (!afterLetter) {
          return _refuse(`In names a combining mark must follow a letter: ${quote(name)}`);
        }
      } else if (_matchesAt(_DIGIT, name, i)) {
        afterLetter = false;
      } else if (_matchesAt(_INVISIBLE, name, i)) {
        return _refuse(`Names may not contain invisible or control characters: ${quote(name)}`);
      } else {
        return _refuse(`${_ALLOWED}: ${quote(name)}`);
      }
      i += c > 0xffff ? 2 : 1;
    }
  } else if (name.length > MAX_NAME_CHARS) {
    return _tooLong(name);
  }

  if (_RESERVED_KEYS.has(nameKey(name))) {
    return _refuse(`This name is reserved, please pick another: ${quote(name)}`);
  }
  return { ok: true, name };
}

/**
 * The key under which names are compared: two names are the same name exactly when their keys
 * are equal. Used for uniqueness, reserved names, `dm` `to` and `/msg`.
 *
 * The key is the name under NFKC, upper-cased then lower-cased (which folds `ß` with `ss`,
 * `ſ` with `s`, final `ς` with `σ`, and dotless `ı` with `i`), and NFKC again; so `ALICE`,
 * `Alice` and `alice` collide, and so do full-width `ａｌｉｃｅ` and `alice`. Plain ASCII takes a
 * fast path.
 *
 * @param name a name (normally one that passed {@linkcode validateName})
 * @returns its comparison key
 * @example Case does not matter
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameKey } from "./names.ts";
 * assert.ok(nameKey("ALICE") === nameKey("alice"));
 * assert.ok(nameKey("Straße") === nameKey("STRASSE"));
 * ```
 */
export function nameKey(name: string): string {
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) {
      return name.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");
    }
  }
  return name.toLowerCase();
}
