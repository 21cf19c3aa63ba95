/**
 * Turns a JSON body from a client into a checked {@linkcode ClientEvent}, or says exactly what
 * is wrong with it; and encodes server events.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { ClientEvent, ModAction, ResumePoint, ServerEvent } from "./events.ts";
import { MOD_ACTIONS, PROTOCOL_VERSION } from "./events.ts";
import { MAX_NAME_CHARS } from "./names.ts";
import { quote } from "./sanitize.ts";
import { decodeUtf8, utf8Length } from "./utf8.ts";

/**
 * The most code points a name field (`hello.name`, `nick.name`, `dm.to`) may have before NFC
 * normalisation: 4 per character, the longest canonical decomposition, so no name that is
 * valid after NFC is refused here.
 */
export const MAX_RAW_NAME_CHARS = 4 * MAX_NAME_CHARS;

/** The most code points of a string `ping`/`pong` id and of `hello.client`. */
export const MAX_ID_CHARS = 64;

/** The most code points of `hello.password`. */
export const MAX_PASSWORD_CHARS = 256;

/** The most code points of a moderation `reason`. */
export const MAX_REASON_CHARS = 200;

/** The bounds {@linkcode parseClientEvent} checks text against. */
export interface ParseLimits {
  /** The most UTF-8 bytes a `text` field may have. */
  readonly maxTextBytes: number;
}

/**
 * The outcome of {@linkcode parseClientEvent}. A failure carries `type` when the body was a
 * JSON object with a string `type`, so a caller can tell a broken `hello` from a body that is
 * not JSON at all.
 */
export type ParseResult =
  | { readonly ok: true; readonly event: ClientEvent }
  | { readonly ok: false; readonly error: ProtocolError; readonly type?: string };

const _NOT_AN_OBJECT = 'The message is not a JSON object: send one like {"type":"say","text":"hi"}';

class _FieldError extends Error {
  constructor(readonly code: "bad_event" | "bad_name", message: string) {
    super(message);
  }
}

/** The code points of `text` when there may be more than `bound` of them, else a number
 * not above `bound` (its UTF-16 length). */
function _codePoints(text: string, bound: number): number {
  if (text.length <= bound) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function _own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function _string(object: Record<string, unknown>, key: string): string {
  const value = _own(object, key);
  if (value === undefined) throw new _FieldError("bad_event", `Field "${key}" is missing`);
  if (typeof value !== "string") {
    throw new _FieldError("bad_event", `Field "${key}" must be a string`);
  }
  return value;
}

function _text(object: Record<string, unknown>, limits: ParseLimits): string {
  const text = _string(object, "text");
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short texts need no count.
  if (text.length * 3 > limits.maxTextBytes) {
    const bytes = utf8Length(text);
    if (bytes > limits.maxTextBytes) {
      throw new _FieldError(
        "bad_event",
        `Field "text" is too long: ${bytes} bytes, the limit is ${limits.maxTextBytes}`,
      );
    }
  }
  return text;
}

function _name(object: Record<string, unknown>, key: "name" | "to"): string {
  const name = _string(object, key);
  const count = _codePoints(name, MAX_RAW_NAME_CHARS);
  if (count > MAX_RAW_NAME_CHARS) {
    if (key === "to") {
      throw new _FieldError(
        "bad_event",
        `Field "to" is too long: ${count} characters, names have at most ${MAX_NAME_CHARS}`,
      );
    }
    throw new _FieldError(
      "bad_name",
      `Names must be 1 to ${MAX_NAME_CHARS} characters: ${quote(name)} has ${count}`,
    );
  }
  return name;
}

/** An optional id: absent, `null` (taken as absent), a short string or a finite number. */
function _id(object: Record<string, unknown>): string | number | undefined {
  const id = _own(object, "id");
  if (id === undefined || id === null) return undefined;
  if (typeof id === "number") {
    if (!Number.isFinite(id)) throw new _FieldError("bad_event", `Field "id" must be finite`);
    return id;
  }
  if (typeof id !== "string") {
    throw new _FieldError("bad_event", `Field "id" must be a string or a number`);
  }
  const count = _codePoints(id, MAX_ID_CHARS);
  if (count > MAX_ID_CHARS) {
    throw new _FieldError(
      "bad_event",
      `Field "id" is too long: ${count} characters, the limit is ${MAX_ID_CHARS}`,
    );
  }
  return id;
}

function _hello(object: Record<string, unknown>): ClientEvent {
  const name = _name(object, "name");
  const protocol = _own(object, "protocol");
  const speaks = `this server speaks protocol ${PROTOCOL_VERSION}`;
  if (protocol === undefined) {
    throw new _FieldError("bad_event", `Field "protocol" is missing: ${speaks}`);
  }
  if (typeof protocol !== "number") {
    throw new _FieldError("bad_event", `Field "protocol" must be a number: ${speaks}`);
  }
  if (protocol !== PROTOCOL_VERSION) {
    throw new _FieldError(
      "bad_event",
      `Unsupported protocol version ${quote(String(protocol))}: ${speaks}`,
    );
  }
  const resume = _resume(_own(object, "resume"));
  const client = _optionalShort(object, "client");
  const key = _optionalShort(object, "key");
  const password = _optionalShort(object, "password", MAX_PASSWORD_CHARS);
  const tls = _own(object, "tls");
  if (tls !== undefined && tls !== null && typeof tls !== "boolean") {
    throw new _FieldError("bad_event", `Field "tls" must be true or false`);
  }
  const summaries = _own(object, "summaries");
  if (summaries !== undefined && summaries !== null && typeof summaries !== "boolean") {
    throw new _FieldError("bad_event", `Field "summaries" must be true or false`);
  }
  return {
    type: "hello",
    name,
    protocol,
    ...(client === undefined ? {} : { client }),
    ...(key === undefined ? {} : { key }),
    ...(tls === true ? { tls } : {}),
    ...(password === undefined ? {} : { password }),
    ...(resume === undefined ? {} : { resume }),
    ...(summaries === true ? { summaries } : {}),
  };
}

/** An optional short string (`hello.client`, `hello.key`): absent, `null`, or a string. */
function _optionalShort(
  object: Record<string, unknown>,
  key: string,
  max = MAX_ID_CHARS,
): string | undefined {
  const value = _own(object, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new _FieldError("bad_event", `Field "${key}" must be a string`);
  }
  const count = _codePoints(value, max);
  if (count > max) {
    throw new _FieldError(
      "bad_event",
      `Field "${key}" is too long: ${count} characters, the limit is ${max}`,
    );
  }
  return value;
}

/** Reads a `mod` event: a known action, the target it needs, optional duration and reason. */
function _mod(object: Record<string, unknown>): ClientEvent {
  const action = _string(object, "action");
  if (!(MOD_ACTIONS as readonly string[]).includes(action)) {
    throw new _FieldError(
      "bad_event",
      `Field "action" must be one of ${MOD_ACTIONS.join(", ")}: ${quote(action)}`,
    );
  }
  const target = _optionalShort(object, "target", MAX_RAW_NAME_CHARS * 2);
  if (target === undefined && action !== "bans") {
    throw new _FieldError("bad_event", `Field "target" is missing: "${action}" needs one`);
  }
  const duration = _optionalShort(object, "duration");
  const reason = _optionalShort(object, "reason", MAX_REASON_CHARS);
  return {
    type: "mod",
    action: action as ModAction,
    ...(target === undefined ? {} : { target }),
    ...(duration === undefined ? {} : { duration }),
    ...(reason === undefined ? {} : { reason }),
  };
}

/** `auth.signature`: a string of at most the base64url length of a 64-byte signature, plus slack. */
function _signature(object: Record<string, unknown>): string {
  const signature = _string(object, "signature");
  if (signature.length > 2 * MAX_ID_CHARS) {
    throw new _FieldError(
      "bad_event",
      `Field "signature" is too long: an Ed25519 signature is 86 characters`,
    );
  }
  return signature;
}

/** Reads `hello.resume` {room, after, epoch}; absent or null is no resume. */
function _resume(value: unknown): ResumePoint | undefined {
  if (value === undefined || value === null) return undefined;
  const shape = `Field "resume" must be {"room": "#name", "after": id, "epoch": "..."}`;
  if (typeof value !== "object" || Array.isArray(value)) throw new _FieldError("bad_event", shape);
  const resume = value as Record<string, unknown>;
  const room = _own(resume, "room");
  const after = _own(resume, "after");
  const epoch = _own(resume, "epoch");
  if (
    typeof room !== "string" || room.length > 64 || typeof epoch !== "string" ||
    epoch.length > 64 || typeof after !== "number" || !Number.isSafeInteger(after) || after < 0
  ) {
    throw new _FieldError("bad_event", shape);
  }
  return { room, after, epoch };
}

function _event(type: string, object: Record<string, unknown>, limits: ParseLimits): ClientEvent {
  switch (type) {
    case "say":
      return { type, text: _text(object, limits) };
    case "me":
      return { type, text: _text(object, limits) };
    case "dm": {
      const to = _name(object, "to");
      return { type, to, text: _text(object, limits) };
    }
    case "nick":
      return { type, name: _name(object, "name") };
    case "who":
      return { type };
    case "bye":
      return { type };
    case "room":
      return { type, name: _string(object, "name") };
    case "rooms":
      return { type };
    case "ping":
    case "pong": {
      const id = _id(object);
      return id === undefined ? { type } : { type, id };
    }
    case "hello":
      return _hello(object);
    case "auth":
      return { type, signature: _signature(object) };
    case "whois":
      return { type, name: _name(object, "name") };
    case "mod":
      return _mod(object);
    default:
      throw new ProtocolError("unknown_type", `Unknown event type: ${quote(type)}`);
  }
}

/** `{"type":"say","text":"`, the start of a `say` as `chat join` (and `JSON.stringify`) writes it. */
const _SAY_OPEN = new TextEncoder().encode('{"type":"say","text":"');
/** The longest text {@linkcode _plainSay} reads (longer ones take the full parse). */
const _PLAIN_SAY_MAX_BYTES = 1024;

/**
 * The most common body, a `say` of ASCII text exactly as `JSON.stringify({type, text})` writes
 * it, read without the runtime's UTF-8 decoder and without `JSON.parse`, each of which costs
 * about as much as the rest of a message's way in: `{"type":"say","text":"`, then printable
 * ASCII other than `"` and `\` (which JSON takes character for character, with no escape), then
 * `"}`. ASCII is valid UTF-8 whose code points are its bytes, and its UTF-8 length is its byte
 * count. Anything else (other spacing or fields, an escape, a control character, a byte above
 * 0x7F, a text over the limit) is undefined: the full parse handles it, with its own checks and
 * error messages. `JSON.parse` gives the same event for every body this accepts.
 */
function _plainSay(body: Uint8Array, limits: ParseLimits): ParseResult | undefined {
  const open = _SAY_OPEN.length;
  const end = body.length - 2;
  if (end < open || end - open > _PLAIN_SAY_MAX_BYTES || end - open > limits.maxTextBytes) {
    return undefined;
  }
  if (body[end] !== 0x22 || body[end + 1] !== 0x7d) return undefined;
  for (let i = 0; i < open; i++) if (body[i] !== _SAY_OPEN[i]) return undefined;
  for (let i = open; i < end; i++) {
    const byte = body[i]!;
    if (byte < 0x20 || byte > 0x7e || byte === 0x22 || byte === 0x5c) return undefined;
  }
  const text = String.fromCharCode.apply(null, body.subarray(open, end) as unknown as number[]);
  return { ok: true, event: { type: "say", text } };
}

/** Is the first character that is not JSON whitespace a `{`? */
function _startsLikeObject(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/**
 * Parses and checks one JSON body from a client. Never throws.
 *
 * The body must be valid UTF-8 (else `bad_utf8`) holding one JSON object (else `bad_event`)
 * with a string `type` (missing or not a string: `bad_event`; not a client event type:
 * `unknown_type`). Every field of that type must be present with the right JSON type (else
 * `bad_event`): `text` at most `limits.maxTextBytes` UTF-8 bytes; `name` and `to` at most
 * {@linkcode MAX_RAW_NAME_CHARS} code points (a longer `name` is `bad_name`, since the name
 * rules are checked later with `validateName`); `protocol` exactly 1; optional `client` a
 * string and `id` a string of at most {@linkcode MAX_ID_CHARS} code points or a finite number,
 * where `null` counts as absent. Fields the type does not define are ignored and not returned.
 * Text is returned as received: sanitising is the caller's job.
 *
 * @param body the frame body, as bytes or already decoded
 * @param limits the bounds to check text against
 * @returns `{ ok: true, event }`, or `{ ok: false, error, type? }`
 * @example Parse a good and a bad event
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseClientEvent } from "./event_parser.ts";
 * const good = parseClientEvent('{"type":"say","text":"hi"}', { maxTextBytes: 4096 });
 * assert.ok(good.ok && good.event.type === "say");
 * const bad = parseClientEvent('{"type":"say"}', { maxTextBytes: 4096 });
 * assert.ok(!bad.ok && bad.error.message === 'Field "text" is missing');
 * ```
 */
export function parseClientEvent(body: Uint8Array | string, limits: ParseLimits): ParseResult {
  let text: string;
  if (typeof body === "string") {
    text = body;
  } else {
    const say = _plainSay(body, limits);
    if (say !== undefined) return say;
    try {
      text = decodeUtf8(body);
    } catch (error) {
      if (error instanceof ProtocolError) return { ok: false, error };
      throw error;
    }
  }
  if (!_startsLikeObject(text)) {
    return { ok: false, error: new ProtocolError("bad_event", _NOT_AN_OBJECT) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: new ProtocolError("bad_event", _NOT_AN_OBJECT) };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: new ProtocolError("bad_event", _NOT_AN_OBJECT) };
  }
  const object = value as Record<string, unknown>;
  const type = _own(object, "type");
  if (type === undefined) {
    return { ok: false, error: new ProtocolError("bad_event", 'Field "type" is missing') };
  }
  if (typeof type !== "string") {
    return { ok: false, error: new ProtocolError("bad_event", 'Field "type" must be a string') };
  }
  try {
    return { ok: true, event: _event(type, object, limits) };
  } catch (error) {
    if (error instanceof ProtocolError) return { ok: false, error, type };
    if (error instanceof _FieldError) {
      return { ok: false, error: new ProtocolError(error.code, error.message), type };
    }
    return { ok: false, error: new ProtocolError("bad_event", _NOT_AN_OBJECT), type };
  }
}

/**
 * Encodes a server event as its JSON body.
 *
 * @param event the event to send
 * @returns the JSON text (one line: JSON escapes every line break inside strings)
 * @example Encode a pong
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeServerEvent } from "./event_parser.ts";
 * assert.ok(encodeServerEvent({ type: "pong", id: 7 }) === '{"type":"pong","id":7}');
 * ```
 */
export function encodeServerEvent(event: ServerEvent): string {
  return JSON.stringify(event);
}
