/**
 * What text clients (plain frame64 and line clients) see: each server event as zero or more
 * lines of plain text, every one of them sanitised and prefixed so that no line can pass for
 * another user's or the server's.
 *
 * @module
 */

import type { GapEvent, ModAction, ModNoticeEvent, PresenceEvent, ServerEvent } from "./events.ts";
import { nameKey } from "./names.ts";
import { sanitizeLine, sanitizeText } from "./sanitize.ts";

/** How many names the welcome line lists before it says how many more there are. */
export const WELCOME_MAX_NAMES = 20;

/** The lines of message text: sanitised, split at LF, trailing empty lines dropped. */
function _lines(text: string): string[] {
  const clean = sanitizeText(text);
  if (!clean.includes("\n")) return clean === "" ? [] : [clean];
  const lines = clean.split("\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function _prefixed(prefix: string, text: string): string[] {
  const lines = _lines(text);
  for (let i = 0; i < lines.length; i++) lines[i] = prefix + lines[i];
  return lines;
}

/** Names sorted as the terminal client sorts them: by comparison key, so case does not matter. */
function _sorted(users: readonly string[]): string[] {
  return users.map((name) => [nameKey(name), name] as const)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, name]) => name);
}

function _names(unsorted: readonly string[], max: number): string {
  const users = _sorted(unsorted);
  const shown = users.length > max ? users.slice(0, max) : users;
  const list = shown.map(sanitizeLine).join(", ");
  return users.length > max ? `${list}, and ${users.length - max} more` : list;
}

/**
 * Says what a `presence` event reports, names sanitised and in the order given, at most `max` of
 * each list: `+3 joined: ann, bob, cy; 2 left: dee, eve`.
 *
 * @param event the event
 * @param max how many names of each list to show before "and N more"
 * @returns the words, without the online count
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePresence } from "./text_render.ts";
 * const event = { type: "presence", ts: "2024-05-01T09:05:00Z", online: 9, joined: ["ann", "bob", "cy"], left: [{ name: "dee", reason: "quit" }] } as const;
 * assert.equal(describePresence(event, 2), "+3 joined: ann, bob, and 1 more; 1 left: dee");
 * ```
 */
export function describePresence(event: PresenceEvent, max: number): string {
  const list = (names: readonly string[]) => {
    const shown = names.slice(0, max).map(sanitizeLine).join(", ");
    return names.length > max ? `${shown}, and ${names.length - max} more` : shown;
  };
  const parts: string[] = [];
  if (event.joined.length > 0) parts.push(`+${event.joined.length} joined: ${list(event.joined)}`);
  if (event.left.length > 0) {
    parts.push(`${event.left.length} left: ${list(event.left.map((left) => left.name))}`);
  }
  return parts.length === 0 ? "nobody came or went" : parts.join("; ");
}

/**
 * Renders one server event as the lines a text client sees, without line terminators.
 *
 * - `message`: `alice: text`, or `* alice text` for an action, one line per line of text, each
 *   prefixed (history is shown the same way). A live message from the viewer renders as no
 *   lines: text clients never get their own chat lines back.
 * - `dm`: `[dm] alice: text` to its recipient; to its sender (the viewer) the confirmation
 *   `[dm to bob] text`.
 * - `join`, `leave`, `nick`, `who`, `welcome` (with the motd and a hint about `/help`) and
 *   `shutdown` are `* ...` lines; `error` is `! code: message`. The names in `who` and
 *   `welcome` are sorted without regard to case, as the terminal client shows them.
 * - `ping` and `pong` render as no lines: text clients never see keepalive.
 *
 * All text from the event is sanitised first ({@linkcode sanitizeText} for message text,
 * {@linkcode sanitizeLine} for single-line fields).
 *
 * @param event the event to render
 * @param viewerName the viewer's name exactly as the server spells it, if known
 * @returns the lines to send, possibly none
 * @example Render a message and a join
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTextLines } from "./text_render.ts";
 * const ts = "2024-01-01T00:00:00.000Z";
 * const lines = renderTextLines({ type: "message", id: 1, ts, from: "alice", text: "hi\nall", kind: "say" });
 * assert.ok(lines.join("|") === "alice: hi|alice: all");
 * assert.ok(renderTextLines({ type: "join", name: "bob", ts, online: 3 })[0] === "* bob joined (3 online)");
 * ```
 */
export function renderTextLines(event: ServerEvent, viewerName?: string): string[] {
  switch (event.type) {
    case "message": {
      if (event.history !== true && viewerName !== undefined && event.from === viewerName) {
        return [];
      }
      const from = sanitizeLine(event.from);
      return _prefixed(event.kind === "me" ? `* ${from} ` : `${from}: `, event.text);
    }
    case "dm": {
      if (viewerName !== undefined && event.from === viewerName && event.to !== viewerName) {
        return _prefixed(`[dm to ${sanitizeLine(event.to)}] `, event.text);
      }
      return _prefixed(`[dm] ${sanitizeLine(event.from)}: `, event.text);
    }
    case "join":
      return [`* ${sanitizeLine(event.name)} joined (${event.online} online)`];
    case "leave": {
      if (event.reason === "moved") {
        return [`* ${sanitizeLine(event.name)} went to another room (${event.online} online)`];
      }
      const why = event.reason === "quit" ? "" : `: ${sanitizeLine(event.reason)}`;
      return [`* ${sanitizeLine(event.name)} left${why} (${event.online} online)`];
    }
    case "presence":
      return [`* ${describePresence(event, WELCOME_MAX_NAMES)} (${event.online} online)`];
    case "nick":
      return [`* ${sanitizeLine(event.from)} is now known as ${sanitizeLine(event.to)}`];
    case "who":
      return [`* online (${event.users.length}): ${_names(event.users, Infinity)}`];
    case "moved":
      return [
        `* you are now in ${sanitizeLine(event.room)} — ${event.users.length} online: ${
          _names(event.users, WELCOME_MAX_NAMES)
        }`,
      ];
    case "rooms":
      return [
        `* rooms (${event.rooms.length}): ${
          event.rooms.map((room) => `${sanitizeLine(room.name)} (${room.online})`).join(", ")
        }`,
      ];
    case "whois":
      return [
        event.fingerprint === undefined
          ? `* ${sanitizeLine(event.name)} has no identity key (name not owned)`
          : `* ${sanitizeLine(event.name)} is identity ${sanitizeLine(event.fingerprint)}`,
      ];
    case "welcome": {
      const lines = [
        `* welcome, ${sanitizeLine(event.name)} — ${event.users.length} online: ${
          _names(event.users, WELCOME_MAX_NAMES)
        }`,
      ];
      if (event.motd !== undefined) lines.push(..._prefixed("* ", event.motd));
      lines.push("* type /help for commands");
      return lines;
    }
    case "error":
      return [`! ${event.code}: ${sanitizeLine(event.message)}`];
    case "shutdown": {
      const message = sanitizeLine(event.message);
      return [
        message.trim() === "" ? "* server shutting down" : `* server shutting down: ${message}`,
      ];
    }
    case "mod":
      return [describeMod(event, viewerName)];
    case "bans":
      if (event.bans.length === 0) return ["* no bans in force"];
      return [
        `* bans (${event.bans.length}):`,
        ...event.bans.map((ban) =>
          `*   ${sanitizeLine(ban.target)}${
            ban.name === undefined ? "" : ` (${sanitizeLine(ban.name)})`
          } by ${sanitizeLine(ban.by)}, ${
            ban.until === undefined ? "until lifted" : `until ${ban.until}`
          }${ban.reason === undefined ? "" : `: ${sanitizeLine(ban.reason)}`}`
        ),
      ];
    case "gap":
      return [`* ${gapText(event)}`];
    case "notice":
      return _prefixed("* ", event.text);
    case "ping":
    case "pong":
    case "challenge":
      return [];
  }
}

const _MOD_PAST: Readonly<Record<ModAction, string>> = {
  kick: "kicked",
  ban: "banned",
  unban: "lifted the ban on",
  bans: "listed the bans",
  mute: "muted",
  unmute: "unmuted",
  op: "made an operator",
  deop: "took operator status from",
};

/**
 * One line that says what an operator did, from the point of view of the one reading it: the
 * member it concerns reads "you were kicked by alice: spam", anyone else "alice kicked bob".
 *
 * @param event the `mod` event
 * @param viewerName the reader's name, if known
 * @returns the line
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeMod } from "./text_render.ts";
 * const event = { type: "mod", action: "kick", target: "bob", by: "alice", ts: "t", reason: "spam" } as const;
 * assert.ok(describeMod(event, "bob") === "* you were kicked by alice: spam");
 * assert.ok(describeMod(event, "alice") === "* alice kicked bob: spam");
 * ```
 */
export function describeMod(event: ModNoticeEvent, viewerName?: string): string {
  const by = sanitizeLine(event.by);
  const target = sanitizeLine(event.target);
  const span = event.until === undefined
    ? (event.action === "ban" || event.action === "mute" ? " until lifted" : "")
    : ` for ${sanitizeLine(event.duration ?? "")} (until ${sanitizeLine(event.until)})`;
  const reason = event.reason === undefined ? "" : `: ${sanitizeLine(event.reason)}`;
  if (viewerName !== undefined && event.target === viewerName && event.by !== viewerName) {
    switch (event.action) {
      case "op":
        return `* you are now an operator (made one by ${by}): /help lists your commands`;
      case "deop":
        return `* you are no longer an operator (${by} took it away)`;
      case "unmute":
        return `* you can speak again (${by} unmuted you)`;
      default:
        return `* you were ${_MOD_PAST[event.action]} by ${by}${span}${reason}`;
    }
  }
  return `* ${by} ${_MOD_PAST[event.action]} ${target}${span}${reason}`;
}

/**
 * A count as people read it, with thousands separated: `1,234`. Fixed to English digits, so
 * what a text client shows does not depend on the server's locale.
 *
 * @param n a whole number
 * @returns the number, grouped by thousands
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./text_render.ts";
 * assert.equal(formatCount(1234567), "1,234,567");
 * ```
 */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/**
 * What a person is told of a `gap`: that the history replayed is not all they missed, and how
 * much is missing when the server counted it.
 *
 * @param event the gap
 * @returns one sentence
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gapText } from "./text_render.ts";
 * const text = gapText({ type: "gap", room: "#main", reason: "too_many", skipped: 1234 });
 * assert.ok(text.endsWith("1,234 earlier messages not shown"));
 * ```
 */
export function gapText(event: GapEvent): string {
  const room = sanitizeLine(event.room);
  const skipped = event.skipped;
  const notShown = skipped === undefined
    ? undefined
    : `${formatCount(skipped)} earlier ${skipped === 1 ? "message" : "messages"} not shown`;
  switch (event.reason) {
    case "epoch":
      return `the history of ${room} was reset while you were away: older messages are gone`;
    case "trimmed":
      return `some messages of ${room} from while you were away are no longer kept` +
        (notShown === undefined ? "" : `: ${notShown}`);
    case "too_many":
      return `too much was said in ${room} while you were away: ` +
        (notShown ?? "only the latest follow");
    default:
      // A reason this code does not know (a later server): the gist still holds.
      return `not everything said in ${room} while you were away follows` +
        (notShown === undefined ? "" : `: ${notShown}`);
  }
}
