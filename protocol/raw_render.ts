/**
 * What raw clients see: each server event as one `NAME~TEXT` string, the `username~message`
 * form the socket-chat tutorials split on `~`. The part before the first `~` is always the
 * author (a name never holds `~`), or `SERVER` for notices and errors.
 *
 * @module
 */

import type { ServerEvent } from "./events.ts";
import { sanitizeLine, sanitizeText } from "./sanitize.ts";
import { renderTextLines } from "./text_render.ts";

/** The author of everything the server itself says to a raw client. */
export const RAW_SERVER = "SERVER";

/** Message text for a raw client: sanitised, trailing empty lines dropped, lines kept. */
function _text(text: string): string {
  return sanitizeText(text).replace(/\n+$/, "");
}

/**
 * Renders one server event for a raw client, or null when it sees nothing of it.
 *
 * - `message`: `alice~hi`; an action `alice~* alice waves`. A live message from the viewer is
 *   null: raw clients never get their own messages back.
 * - `dm`: `alice~[dm] hi` to its recipient; null to its sender (nothing is echoed back).
 * - Everything else is a notice, `SERVER~...` with the text a line client sees without its
 *   `* ` marks (`SERVER~bob joined (3 online)`), an error `SERVER~! code: message`.
 * - `ping` and `pong`: null, as for every text client.
 *
 * A message of several lines stays one string with its LFs: it is one event, sent in one write.
 *
 * @param event the event
 * @param viewerName the viewer's name exactly as the server spells it, if known
 * @returns the string to send, or null
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderRaw } from "./raw_render.ts";
 * const ts = "2024-01-01T00:00:00.000Z";
 * assert.equal(renderRaw({ type: "message", id: 1, ts, from: "alice", text: "hi", kind: "say" }), "alice~hi");
 * assert.equal(renderRaw({ type: "join", name: "bob", ts, online: 2 }), "SERVER~bob joined (2 online)");
 * ```
 */
export function renderRaw(event: ServerEvent, viewerName?: string): string | null {
  switch (event.type) {
    case "message": {
      if (event.history !== true && viewerName !== undefined && event.from === viewerName) {
        return null;
      }
      const from = sanitizeLine(event.from);
      const text = _text(event.text);
      if (text === "") return null;
      return event.kind === "me" ? `${from}~* ${from} ${text}` : `${from}~${text}`;
    }
    case "dm": {
      if (viewerName !== undefined && event.from === viewerName && event.to !== viewerName) {
        return null;
      }
      const text = _text(event.text);
      return text === "" ? null : `${sanitizeLine(event.from)}~[dm] ${text}`;
    }
    case "ping":
    case "pong":
      return null;
    default:
      return rawNotice(renderTextLines(event, viewerName));
  }
}

/**
 * Joins notice lines (as a line client would see them) into one `SERVER~...` string, with the
 * `* ` that marks a notice line removed (an error line keeps its `! `).
 *
 * @param lines lines as rendered for line clients
 * @returns the notice, or null for no lines
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rawNotice } from "./raw_render.ts";
 * assert.equal(rawNotice(["* online (1): alice"]), "SERVER~online (1): alice");
 * ```
 */
export function rawNotice(lines: readonly string[]): string | null {
  if (lines.length === 0) return null;
  return `${RAW_SERVER}~${
    lines.map((line) => line.startsWith("* ") ? line.slice(2) : line).join("\n")
  }`;
}
