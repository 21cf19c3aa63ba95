/**
 * What the server says first to a connection that says nothing: a person at `nc` or `telnet`
 * otherwise sees a blank screen. See "Greeting a silent connection" in PROTOCOL.md.
 *
 * @module
 */

import { encodeUtf8 } from "../protocol/utf8.ts";

/**
 * The greeting: one line that ends in `name?` and a LF. It starts with `SERVER~` because the
 * raw tutorial clients that wait for their user to type a name before sending anything read it
 * too, and split everything they read on `~` (one of them fails on a text without one).
 */
export const GREETING_TEXT =
  "SERVER~Welcome to chat. Type your name and press Enter (/quit leaves). name?\n";

/** {@linkcode GREETING_TEXT} as bytes, shared by every greeted connection. */
export const GREETING: Uint8Array = encodeUtf8(GREETING_TEXT);

/**
 * The last line to a greeted connection that never answered, before it is closed: it was
 * spoken to in text, so it is told why in text (the `! code: message` form of line clients).
 */
export const SILENT_TIMEOUT_NOTICE: Uint8Array = encodeUtf8(
  "! timeout: No name was sent in time; connect again to chat\n",
);
