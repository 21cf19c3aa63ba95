/**
 * Turns server events into the lines a person reads: `HH:MM name: text` with a colour per name,
 * actions and system events set apart, private messages marked, mentions highlighted. Pure: no
 * I/O, and every character that came from the network passes the shared sanitiser here.
 *
 * @module
 */

import pc from "picocolors";
import type { LeaveReason, MessageEvent, ServerEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { sanitizeLine, sanitizeText } from "../protocol/sanitize.ts";
import {
  describeMod,
  describePresence,
  formatCount,
  gapText,
  renderTextLines,
} from "../protocol/text_render.ts";
import { visibleWidth } from "./width.ts";

/** A set of colour functions, as made by `picocolors`' `createColors`. */
export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Makes the colour functions: real ones, or ones that return their input unchanged.
 *
 * @param enabled whether to colour at all (false for `--no-color` and `NO_COLOR`)
 * @returns the colour functions
 * @example No colour at all
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeColors } from "./render.ts";
 * assert.ok(makeColors(false).red("x") === "x");
 * assert.ok(makeColors(true).red("x") !== "x");
 * ```
 */
export function makeColors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/** What one event becomes on screen. */
export interface Rendered {
  /** The lines to print, styled, without line terminators. */
  readonly lines: readonly string[];
  /** True when the event mentions the user: the terminal bell should ring. */
  readonly bell: boolean;
  /**
   * How far rows after the first are indented when a line is too wide for the terminal and
   * wrapped: the width of the line's prefix, so the text lines up.
   */
  readonly indent: number;
}

/** Options of a {@linkcode Renderer}. */
export interface RendererOptions {
  /** The colour functions ({@linkcode makeColors}). */
  readonly colors: Colors;
  /**
   * `terminal`: continuation lines of a multi-line message are indented under its text, and
   * mentions ring the bell. `plain` (piped output): every line of a message repeats its
   * `HH:MM name: ` prefix, so each output line stands alone; no bell.
   */
  readonly style: "terminal" | "plain";
  /** The time to show for events without a timestamp (default: the clock). */
  readonly now?: () => Date;
}

/** The colours names are drawn in; a name always gets the same one. */
const _NAME_COLORS = [
  "red",
  "green",
  "yellow",
  "blue",
  "magenta",
  "cyan",
  "redBright",
  "greenBright",
  "yellowBright",
  "blueBright",
  "magentaBright",
  "cyanBright",
] as const;

/** How a leave reads, by reason: the verb, and why (shown inside the count's parentheses). */
const _LEAVE_WORDS: Readonly<Record<LeaveReason, readonly [string, string?]>> = {
  quit: ["left"],
  closed: ["left", "connection closed"],
  timeout: ["left", "timed out"],
  slow: ["was disconnected", "too slow to keep up"],
  flood: ["was disconnected", "flooding"],
  error: ["was disconnected", "protocol errors"],
  shutdown: ["left", "server shutting down"],
  kicked: ["was kicked"],
  banned: ["was banned"],
  moved: ["went to another room"],
  node_lost: ["left", "their server was lost"],
};

/**
 * How many names of each list a `presence` line shows before "and N more": a storm's summary
 * stays one line of a normal terminal instead of a screenful of names.
 */
export const PRESENCE_MAX_NAMES = 8;

/**
 * The words after a leaving name: `left (connection closed, 4 online)`, one pair of
 * parentheses whatever the reason.
 *
 * @param reason why the member left (an unknown reason reads as a plain leave)
 * @param online how many are still online
 * @returns the words
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leaveWords } from "./render.ts";
 * assert.equal(leaveWords("closed", 4), "left (connection closed, 4 online)");
 * assert.equal(leaveWords("quit", 2), "left (2 online)");
 * ```
 */
export function leaveWords(reason: LeaveReason, online: number): string {
  const [verb, why] = _LEAVE_WORDS[reason] ?? ["left"];
  return why === undefined ? `${verb} (${online} online)` : `${verb} (${why}, ${online} online)`;
}

/**
 * Picks the colour of a name from a hash of its comparison key, so `Alice` and `alice` match
 * and the colour never changes between runs.
 *
 * @param name a user name
 * @returns an index into the name palette (0 to 11)
 * @example The same name, the same colour
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameColorIndex } from "./render.ts";
 * assert.ok(nameColorIndex("Alice") === nameColorIndex("alice"));
 * ```
 */
export function nameColorIndex(name: string): number {
  // FNV-1a over the UTF-16 units of the key.
  let hash = 0x811c9dc5;
  const key = nameKey(name);
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % _NAME_COLORS.length;
}

/**
 * Formats a time as `HH:MM` in local time.
 *
 * @param time a `Date`, or an ISO 8601 timestamp from the server
 * @param fallback used when the timestamp cannot be read
 * @returns the hours and minutes, zero-padded
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatClock } from "./render.ts";
 * assert.ok(/^\d\d:\d\d$/.test(formatClock("2024-05-01T09:05:00Z", new Date())));
 * ```
 */
export function formatClock(time: Date | string, fallback: Date): string {
  let date = typeof time === "string" ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) date = fallback;
  return `${String(date.getHours()).padStart(2, "0")}:${
    String(date.getMinutes()).padStart(2, "0")
  }`;
}

/**
 * Formats a time as `HH:MM` in local time when it is today, and as `YYYY-MM-DD HH:MM` when it
 * is another day, so replayed history from yesterday is not read as this morning's.
 *
 * @param time a `Date`, or an ISO 8601 timestamp from the server
 * @param now the present (also used when the timestamp cannot be read)
 * @returns the time, with the local date in front when it is not today
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStamp } from "./render.ts";
 * const now = new Date(2026, 11, 6, 15, 0);
 * assert.ok(formatStamp(new Date(2026, 11, 6, 9, 5), now) === "09:05");
 * assert.ok(formatStamp(new Date(2026, 11, 5, 9, 5), now) === "2026-12-05 09:05");
 * ```
 */
export function formatStamp(time: Date | string, now: Date): string {
  let date = typeof time === "string" ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) date = now;
  const clock = formatClock(date, now);
  if (
    date.getFullYear() === now.getFullYear() && date.getMonth() === now.getMonth() &&
    date.getDate() === now.getDate()
  ) {
    return clock;
  }
  const day = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${
    String(date.getDate()).padStart(2, "0")
  }`;
  return `${day} ${clock}`;
}

/** Characters that may be part of a name; a mention must not be next to one. */
const _NAME_CHAR = "[\\p{L}\\p{M}\\p{Nd}_\\-]";

/**
 * Builds the pattern that finds mentions of a name in text: the name as a whole word, in any
 * case (`@alice`, `Alice:` and `alice.` count; `malice` does not).
 *
 * @param name the user's own name
 * @returns a global, case-insensitive pattern
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mentionPattern } from "./render.ts";
 * assert.ok(mentionPattern("alice").test("hi ALICE!"));
 * assert.ok(!mentionPattern("alice").test("malice"));
 * ```
 */
export function mentionPattern(name: string): RegExp {
  // "-" needs no escape outside a character class (and may not have one with the u flag).
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(`(?<!${_NAME_CHAR})${escaped}(?!${_NAME_CHAR})`, "giu");
}

/**
 * Renders server events (and the client's own notices) as styled lines.
 *
 * @example Render a message without colours
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeColors, Renderer } from "./render.ts";
 * const renderer = new Renderer({ colors: makeColors(false), style: "plain" });
 * const out = renderer.render(
 *   { type: "message", id: 1, ts: "2024-05-01T09:05:00Z", from: "bob", text: "hi", kind: "say" },
 *   "alice",
 * );
 * assert.ok(out.lines[0]!.endsWith(" bob: hi"));
 * ```
 */
export class Renderer {
  #c: Colors;
  #plain: boolean;
  #now: () => Date;
  #mentionName = "";
  #mention: RegExp | null = null;

  /**
   * Makes a renderer.
   *
   * @param options colours and style
   */
  constructor(options: RendererOptions) {
    this.#c = options.colors;
    this.#plain = options.style === "plain";
    this.#now = options.now ?? (() => new Date());
  }

  /** The colour functions in use. */
  get colors(): Colors {
    return this.#c;
  }

  /**
   * A name in its colour.
   *
   * @param name a name (sanitised here)
   * @returns the styled name
   */
  name(name: string): string {
    const clean = sanitizeLine(name);
    const color = _NAME_COLORS[nameColorIndex(clean)]!;
    return this.#c.bold(this.#c[color](clean));
  }

  /**
   * Renders one event. `ping` and `pong` render as nothing.
   *
   * @param event the event from the server
   * @param myName the user's current name, for mentions
   * @returns the lines and whether to ring the bell
   */
  render(event: ServerEvent, myName: string): Rendered {
    const c = this.#c;
    switch (event.type) {
      case "message": {
        if (event.history === true && !this.#plain) return this.#replayed(event);
        const time = this.#clock(event.ts);
        const own = nameKey(event.from) === nameKey(myName);
        const mention = !own && event.history !== true && this.#mentions(event.text, myName);
        if (event.kind === "me") {
          const prefix = `${time} ${c.magenta("*")} ${this.name(event.from)} `;
          return this.#message(prefix, event.text, myName, mention, c.italic);
        }
        return this.#message(`${time} ${this.name(event.from)}: `, event.text, myName, mention);
      }
      case "dm": {
        const time = this.#clock(event.ts);
        const own = nameKey(event.from) === nameKey(myName);
        const prefix = `${time} ${c.magenta("[dm]")} ${this.name(event.from)} ${c.magenta("→")} ${
          this.name(event.to)
        }: `;
        return this.#message(prefix, event.text, myName, !own);
      }
      case "join":
        return this.#system(
          event.ts,
          `${this.name(event.name)} ${c.dim(`joined (${event.online} online)`)}`,
        );
      case "leave":
        return this.#system(
          event.ts,
          `${this.name(event.name)} ${c.dim(leaveWords(event.reason, event.online))}`,
        );
      case "presence":
        return this.#system(
          event.ts,
          `${c.dim(describePresence(event, PRESENCE_MAX_NAMES))} ${
            c.dim(`(${event.online} online)`)
          }`,
        );
      case "nick":
        return this.#system(
          event.ts,
          `${this.name(event.from)} ${c.dim("is now known as")} ${this.name(event.to)}`,
        );
      case "who": {
        const list = this.#notice(this.#userList(event.users));
        const lines = [...list.lines];
        for (const [name, fingerprint] of Object.entries(event.fingerprints ?? {})) {
          lines.push(`${c.dim("--")}   ${this.name(name)} ${c.dim(sanitizeLine(fingerprint))}`);
        }
        return { ...list, lines };
      }
      case "whois":
        return this.#notice(
          event.fingerprint === undefined
            ? `${this.name(event.name)} has no identity key: the name is not owned`
            : `${this.name(event.name)} is identity ${sanitizeLine(event.fingerprint)}`,
        );
      case "moved":
        return this.#notice(
          `You are now in ${c.bold(sanitizeLine(event.room))}. ${this.#userList(event.users)}`,
        );
      case "rooms":
        return this.#notice(
          `Rooms (${event.rooms.length}): ${
            event.rooms.map((room) => `${c.bold(sanitizeLine(room.name))} (${room.online})`)
              .join(", ")
          }`,
        );
      case "welcome": {
        const lines = [
          ...this.#notice(
            `Welcome to ${c.bold(sanitizeLine(event.server))}, ${this.name(event.name)}. ${
              this.#userList(event.users)
            }`,
          ).lines,
        ];
        if (event.op === true) {
          lines.push(`${c.dim("--")} You are an operator here: /help lists your commands`);
        }
        if (event.fingerprint !== undefined) {
          lines.push(
            `${c.dim("--")} ${
              c.dim(`You own this name as identity ${sanitizeLine(event.fingerprint)}`)
            }`,
          );
        }
        if (event.motd !== undefined && event.motd.trim() !== "") {
          for (const line of sanitizeText(event.motd).split("\n")) {
            lines.push(`${c.dim("--")} ${c.cyan(line)}`);
          }
        } else if (!this.#plain) {
          // A server's motd usually points at /help; without one, a person still needs to know.
          lines.push(`${c.dim("--")} Type /help for commands and keys`);
        }
        // An identity that came back: what follows is what it missed, not the usual history.
        if (typeof event.unread === "number" && event.unread > 0) {
          lines.push(c.bold(`-- ${formatCount(event.unread)} new since you left --`));
        }
        return { lines, bell: false, indent: 3 };
      }
      case "mod": {
        const line = describeMod(event, myName).replace(/^\* /, "");
        const toMe = nameKey(event.target) === nameKey(myName) && event.by !== myName;
        if (toMe && (event.action === "kick" || event.action === "ban")) {
          return this.error(line.charAt(0).toUpperCase() + line.slice(1));
        }
        return this.#system(event.ts, line);
      }
      case "bans": {
        const lines = renderTextLines(event).map((line) => line.replace(/^\* ?/, ""));
        return this.#notice(lines.join("\n"));
      }
      case "error":
        return this.error(event.message);
      case "shutdown":
        return this.error(`The server is shutting down: ${sanitizeLine(event.message)}`);
      case "gap":
        return this.#notice(gapText(event));
      case "notice":
        return this.#notice(sanitizeText(event.text));
      case "ping":
      case "pong":
      case "challenge":
        return { lines: [], bell: false, indent: 0 };
    }
  }

  /**
   * The line that ends replayed history, so what follows is known to be live.
   *
   * @returns the dimmed `-- end of history --` line
   */
  historyEnd(): Rendered {
    return { lines: [this.#c.dim("-- end of history --")], bell: false, indent: 3 };
  }

  /**
   * A notice from the client itself, such as help text or "Reconnected".
   *
   * @param text the notice; trusted text, may span lines
   * @returns the lines, each marked as a notice
   */
  notice(text: string): Rendered {
    return this.#notice(text);
  }

  /**
   * An error or warning line, in red when colours are on.
   *
   * @param message the sentence to show (sanitised here)
   * @returns the line
   */
  error(message: string): Rendered {
    const c = this.#c;
    return {
      lines: [`${c.red(c.bold("!!"))} ${c.red(sanitizeLine(message))}`],
      bell: false,
      indent: 3,
    };
  }

  #notice(text: string): Rendered {
    const c = this.#c;
    return {
      lines: text.split("\n").map((line) => `${c.dim("--")} ${line}`),
      bell: false,
      indent: 3,
    };
  }

  /**
   * A replayed message: all of it dimmed and without name colours, so it never looks live,
   * with the date in front when it is not from today.
   */
  #replayed(event: MessageEvent): Rendered {
    const c = this.#c;
    const stamp = formatStamp(event.ts, this.#now());
    const from = sanitizeLine(event.from);
    const prefix = event.kind === "me" ? `${stamp} * ${from} ` : `${stamp} ${from}: `;
    const lines = sanitizeText(event.text).split("\n");
    const lead = " ".repeat(visibleWidth(prefix));
    return {
      lines: lines.map((line, i) => c.dim((i === 0 ? prefix : lead) + line)),
      bell: false,
      indent: lead.length,
    };
  }

  #userList(users: readonly string[]): string {
    const sorted = [...users].sort((a, b) => nameKey(a).localeCompare(nameKey(b)));
    return `${users.length} online: ${sorted.map((user) => this.name(user)).join(", ")}`;
  }

  #clock(ts: string): string {
    return this.#c.dim(formatClock(ts, this.#now()));
  }

  #system(ts: string, text: string): Rendered {
    const prefix = `${this.#clock(ts)} ${this.#c.dim("--")} `;
    return { lines: [prefix + text], bell: false, indent: visibleWidth(prefix) };
  }

  #mentions(text: string, myName: string): boolean {
    const pattern = this.#pattern(myName);
    pattern.lastIndex = 0;
    return pattern.test(text);
  }

  #pattern(myName: string): RegExp {
    if (this.#mention === null || this.#mentionName !== myName) {
      this.#mention = mentionPattern(myName);
      this.#mentionName = myName;
    }
    return this.#mention;
  }

  #message(
    prefix: string,
    rawText: string,
    myName: string,
    mention: boolean,
    style?: (text: string) => string,
  ): Rendered {
    const c = this.#c;
    const lines = sanitizeText(rawText).split("\n");
    const styleLine = (line: string): string => {
      let out = line;
      if (mention) out = out.replace(this.#pattern(myName), (match) => c.inverse(c.bold(match)));
      return style === undefined ? out : style(out);
    };
    const first = prefix + styleLine(lines[0]!);
    const indent = visibleWidth(prefix);
    if (lines.length === 1) return { lines: [first], bell: mention && !this.#plain, indent };
    const out = [first];
    const lead = this.#plain ? prefix : " ".repeat(indent);
    for (let i = 1; i < lines.length; i++) out.push(lead + styleLine(lines[i]!));
    return { lines: out, bell: mention && !this.#plain, indent };
  }
}
