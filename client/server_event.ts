/**
 * Checks what the server sent: a JSON body becomes a {@linkcode ServerEvent} only when it has
 * the fields its type promises, so the rest of the client can trust the shape.
 *
 * @module
 */

import type { ServerEvent } from "../protocol/events.ts";
import { MOD_ACTIONS } from "../protocol/events.ts";
import { decodeUtf8 } from "../protocol/utf8.ts";

type _Object = Record<string, unknown>;

function _isObject(value: unknown): value is _Object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _str(object: _Object, key: string): boolean {
  return typeof object[key] === "string";
}

function _num(object: _Object, key: string): boolean {
  return typeof object[key] === "number" && Number.isFinite(object[key]);
}

function _optionalId(object: _Object): boolean {
  const id = object["id"];
  return id === undefined || typeof id === "string" || typeof id === "number";
}

function _optionalStr(object: _Object, key: string): boolean {
  return object[key] === undefined || typeof object[key] === "string";
}

function _rooms(value: unknown): boolean {
  return Array.isArray(value) &&
    value.every((room) => _isObject(room) && _str(room, "name") && _num(room, "online"));
}

function _names(value: unknown): boolean {
  return Array.isArray(value) && value.every((name) => typeof name === "string");
}

/**
 * Checks a parsed JSON value against the server events of protocol version 1 and the rooms
 * of version 1.1 (`moved`, `rooms`, `room` on `welcome`, `message`, `join`, `leave`). Fields beyond
 * those the type needs are kept as they are.
 *
 * @param value a parsed JSON body
 * @returns the event, or null when it is not a server event this client knows (an unknown
 *   `type`, or a missing or wrongly typed field)
 * @example Accept a join, refuse a join without its name
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkServerEvent } from "./server_event.ts";
 * const ts = "2024-05-01T09:05:00Z";
 * assert.ok(checkServerEvent({ type: "join", name: "bob", ts, online: 2 }) !== null);
 * assert.ok(checkServerEvent({ type: "join", ts, online: 2 }) === null);
 * ```
 */
export function checkServerEvent(value: unknown): ServerEvent | null {
  if (!_isObject(value)) return null;
  const o = value;
  let ok: boolean;
  switch (o["type"]) {
    case "welcome":
      ok = _str(o, "name") && _str(o, "server") && _num(o, "protocol") && _names(o["users"]) &&
        _isObject(o["limits"]) && (o["motd"] === undefined || _str(o, "motd")) &&
        _optionalStr(o, "room") &&
        (o["fingerprint"] === undefined || _str(o, "fingerprint")) &&
        (o["tls"] === undefined || _str(o, "tls")) &&
        (o["features"] === undefined || _names(o["features"])) &&
        (o["op"] === undefined || o["op"] === true);
      break;
    case "mod":
      ok = typeof o["action"] === "string" &&
        (MOD_ACTIONS as readonly unknown[]).includes(o["action"]) && _str(o, "target") &&
        _str(o, "by") && _str(o, "ts") && _optionalStr(o, "duration") &&
        _optionalStr(o, "until") && _optionalStr(o, "reason");
      break;
    case "bans":
      ok = Array.isArray(o["bans"]) &&
        o["bans"].every((ban) =>
          _isObject(ban) && _str(ban, "target") && _str(ban, "by") &&
          (ban["kind"] === "identity" || ban["kind"] === "address") &&
          _optionalStr(ban, "name") && _optionalStr(ban, "until") && _optionalStr(ban, "reason")
        );
      break;
    case "challenge":
      ok = _str(o, "nonce");
      break;
    case "whois":
      ok = _str(o, "name") && (o["fingerprint"] === undefined || _str(o, "fingerprint"));
      break;
    case "message":
      ok = _num(o, "id") && _str(o, "ts") && _str(o, "from") && _str(o, "text") &&
        (o["kind"] === "say" || o["kind"] === "me") && _optionalStr(o, "room");
      break;
    case "dm":
      ok = _num(o, "id") && _str(o, "ts") && _str(o, "from") && _str(o, "to") && _str(o, "text");
      break;
    case "join":
      ok = _str(o, "name") && _str(o, "ts") && _num(o, "online") && _optionalStr(o, "room");
      break;
    case "leave":
      ok = _str(o, "name") && _str(o, "ts") && _num(o, "online") && _str(o, "reason") &&
        _optionalStr(o, "room");
      break;
    case "presence":
      ok = _str(o, "ts") && _num(o, "online") && _names(o["joined"]) &&
        Array.isArray(o["left"]) &&
        o["left"].every((left) => _isObject(left) && _str(left, "name") && _str(left, "reason")) &&
        _optionalStr(o, "room");
      break;
    case "moved":
      ok = _str(o, "room") && _names(o["users"]) && _optionalStr(o, "topic");
      break;
    case "rooms":
      ok = _rooms(o["rooms"]);
      break;
    case "nick":
      ok = _str(o, "from") && _str(o, "to") && _str(o, "ts");
      break;
    case "who":
      ok = _names(o["users"]) &&
        (o["fingerprints"] === undefined ||
          (_isObject(o["fingerprints"]) &&
            Object.values(o["fingerprints"]).every((f) => typeof f === "string")));
      break;
    case "error":
      ok = _str(o, "code") && _str(o, "message") &&
        (o["tlsPort"] === undefined || _num(o, "tlsPort"));
      break;
    case "shutdown":
      ok = _str(o, "message");
      break;
    case "gap":
      // `skipped` is printed as a count. A reason of a later protocol gets a general sentence.
      ok = _str(o, "room") && _str(o, "reason") &&
        (o["skipped"] === undefined ||
          (Number.isSafeInteger(o["skipped"]) && (o["skipped"] as number) >= 0));
      break;
    case "notice":
      ok = _str(o, "text");
      break;
    case "ping":
    case "pong":
      ok = _optionalId(o);
      break;
    default:
      ok = false;
  }
  return ok ? value as unknown as ServerEvent : null;
}

/**
 * Decodes one frame body from the server: strict UTF-8, JSON, then {@linkcode checkServerEvent}.
 *
 * @param body the frame body
 * @returns the event, or null if the body is not a server event this client knows
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeServerEvent } from "./server_event.ts";
 * const body = new TextEncoder().encode('{"type":"who","users":["bob"]}');
 * assert.ok(decodeServerEvent(body)?.type === "who");
 * assert.ok(decodeServerEvent(new TextEncoder().encode("hi")) === null);
 * ```
 */
export function decodeServerEvent(body: Uint8Array): ServerEvent | null {
  try {
    return checkServerEvent(JSON.parse(decodeUtf8(body)));
  } catch {
    return null;
  }
}
