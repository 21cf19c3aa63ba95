/**
 * The typed errors of the wire protocol: every error a peer can see has one of the codes below,
 * and every failure inside `protocol/` is reported as a {@linkcode ProtocolError} carrying one.
 *
 * @module
 */

/** Every `error.code` the server may send, as documented in PROTOCOL.md. */
export const ERROR_CODES = [
  "bad_frame",
  "too_large",
  "bad_utf8",
  "bad_event",
  "unknown_type",
  "not_joined",
  "already_joined",
  "name_taken",
  "bad_name",
  "no_such_user",
  "rate_limited",
  "server_full",
  "timeout",
  "bad_command",
  "bad_room",
  "too_many_rooms",
  "use_tls",
  "name_owned",
  "bad_key",
  "bad_auth",
  "bad_password",
  "not_allowed",
  "banned",
  "not_op",
  "muted",
  "bad_target",
  "bad_duration",
] as const;

/** One of the documented error codes. */
export type ErrorCode = typeof ERROR_CODES[number];

/** The codes of framing errors, after which the connection is closed. */
export type FramingErrorCode = "bad_frame" | "too_large";

/**
 * A protocol violation or refusal, with the code the peer is told and a sentence a person can
 * act on.
 *
 * @example Make and inspect one
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProtocolError } from "./errors.ts";
 * const error = new ProtocolError("bad_name", "Names are 1 to 32 characters: \"\"");
 * assert.ok(error.code === "bad_name");
 * ```
 */
export class ProtocolError extends Error {
  /** The documented code sent to the peer in an `error` event. */
  readonly code: ErrorCode;

  /**
   * @param code the documented error code
   * @param message a sentence for a person: capital first letter, no final period
   */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/**
 * A framing error (`bad_frame` or `too_large`): the byte stream cannot be trusted any more, so
 * the connection is closed after the peer is told.
 */
export class FramingError extends ProtocolError {
  /** The framing error code. */
  declare readonly code: FramingErrorCode;

  /**
   * @param code `bad_frame` or `too_large`
   * @param message a sentence for a person
   */
  constructor(code: FramingErrorCode, message: string) {
    super(code, message);
    this.name = "FramingError";
  }
}

/**
 * Tells whether an error ends the connection (a framing error) or only refuses one event.
 *
 * @param error any caught value
 * @returns true for a {@linkcode FramingError}
 */
export function isFramingError(error: unknown): error is FramingError {
  return error instanceof FramingError;
}
