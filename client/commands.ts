/**
 * What the client does with a line the user typed: the commands of the one command table
 * (`core/commands.ts`) plus the client's own (`/reply`, `/reconnect`), the `/help` text, and Tab
 * completion of commands, names and rooms.
 *
 * @module
 */

import {
  COMMAND_NAMES,
  COMMAND_WORDS as TABLE_WORDS,
  COMMANDS,
  DISCONNECT_MESSAGE,
  eventOfCommand,
  parseTextInput,
} from "../core/commands.ts";
import type { ClientEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { isBlank } from "../protocol/sanitize.ts";

/** What to do with one submitted line. */
export type InputAction =
  | { readonly kind: "send"; readonly event: ClientEvent }
  | { readonly kind: "help" }
  | { readonly kind: "reconnect" }
  | { readonly kind: "quit" }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "none" };

/** The slash words of the table's operator-only commands. */
const _OP_WORDS: ReadonlySet<string> = new Set(
  COMMAND_NAMES.filter((name) => COMMANDS[name].opOnly).flatMap((name) => COMMANDS[name].words),
);

/**
 * The commands Tab completes for everyone, in the order they are offered: the table's (without
 * the operator-only ones), then the client's.
 */
export const COMMAND_WORDS: readonly string[] = Object.freeze([
  ...TABLE_WORDS.filter((word) => !_OP_WORDS.has(word)).sort(),
  "/reconnect",
  "/reply",
]);

/** The commands Tab completes for an operator: everyone's, and the operator-only ones. */
export const OP_COMMAND_WORDS: readonly string[] = Object.freeze([
  ...[...TABLE_WORDS].sort(),
  "/reconnect",
  "/reply",
]);

/**
 * A command's summary as a terminal user should read it: the classic socket client's goodbye
 * (`!DISCONNECT FROM SERVER`) is for programs, and means nothing at a keyboard.
 */
function _forTerminal(summary: string): string {
  return summary.includes(DISCONNECT_MESSAGE) ? "leave the chat" : summary;
}

/**
 * The `/help` text of the interactive client, from the command table and the client's own; an
 * operator also sees the operator-only commands.
 *
 * @param op true when the server says the user is an operator
 * @returns the text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpText } from "./commands.ts";
 * assert.ok(!helpText(false).includes("/kick") && helpText(true).includes("/kick"));
 * ```
 */
export function helpText(op: boolean): string {
  return op ? _OP_HELP_TEXT : HELP_TEXT;
}

function _help(op: boolean): string {
  return [
    "Commands:",
    ...COMMAND_NAMES.map((name) => COMMANDS[name]).filter((c) =>
      c.words.length > 0 && (op || !c.opOnly)
    )
      .map(({ usage, summary }) => `  ${usage.padEnd(16)} ${_forTerminal(summary)}`),
    `  ${"/reply TEXT".padEnd(16)} answer the last private message (also /r TEXT)`,
    `  ${"/reconnect".padEnd(16)} while offline: try to reconnect now (so does Enter)`,
    `  ${"//TEXT".padEnd(16)} send TEXT starting with "/"`,
    "Keys: Enter sends; Up/Down recall earlier lines; Tab completes names, rooms and commands;",
    "  Ctrl-A/Ctrl-E start/end of line, Ctrl-U/Ctrl-K delete to start/end, Ctrl-W deletes a word;",
    "  a pasted block of several lines is sent as one message; Ctrl-C clears the line,",
    "  Ctrl-D deletes the character under the cursor; on an empty line either one leaves.",
    "  While missed messages scroll in, Esc (or Enter on an empty line) shows the rest at once.",
  ].join("\n");
}

/** The `/help` text of the interactive client for everyone but operators. */
export const HELP_TEXT: string = _help(false);

const _OP_HELP_TEXT = _help(true);

const _REPLY = /^\/(reply|r)(?:[ \t]+|$)/i;
const _RECONNECT = /^\/reconnect[ \t]*$/i;

/**
 * Decides what a submitted line means.
 *
 * @param line the text the user submitted (may span lines, from a paste)
 * @param replyTo who sent the last private message, for `/reply`
 * @returns the event to send, or help, quit, an error to show, or nothing (a blank line)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interpretInput } from "./commands.ts";
 * const action = interpretInput("/reply on my way", "bob");
 * assert.ok(action.kind === "send" && action.event.type === "dm");
 * assert.ok(interpretInput("   ", undefined).kind === "none");
 * ```
 */
export function interpretInput(line: string, replyTo: string | undefined): InputAction {
  if (isBlank(line)) return { kind: "none" };
  if (_RECONNECT.test(line)) return { kind: "reconnect" };
  const reply = _REPLY.exec(line);
  if (reply !== null) {
    const text = line.slice(reply[0].length);
    if (isBlank(text)) return { kind: "error", message: "Usage: /reply TEXT" };
    if (replyTo === undefined) {
      return { kind: "error", message: "Nobody has sent you a private message yet" };
    }
    return { kind: "send", event: { type: "dm", to: replyTo, text } };
  }
  const command = parseTextInput(line);
  switch (command.kind) {
    case "say":
      return isBlank(command.text)
        ? { kind: "none" }
        : { kind: "send", event: { type: "say", text: command.text } };
    case "help":
      return { kind: "help" };
    case "quit":
      return { kind: "quit" };
    case "invalid":
      return { kind: "error", message: command.error.message };
    default: {
      const event = eventOfCommand(command);
      return event === null ? { kind: "none" } : { kind: "send", event };
    }
  }
}

/** Commands whose first argument is a name. */
const _NAME_ARGUMENT = /^\/(msg|dm|whois|kick|ban|mute|unmute|op|deop)[ \t]+$/i;
/** Commands whose first argument is a room. */
const _ROOM_ARGUMENT = /^\/join[ \t]+$/i;

/**
 * Tab completion: a command at the start of the line, a room after `/join` or for a word that
 * starts with `#`, otherwise a name of someone online (the first word of a line becomes
 * `name: `, as is usual in chat; `@` before a name is kept).
 *
 * @param before the text before the word being completed
 * @param word the word being completed
 * @param names the names online
 * @param myName the user's own name, which is not offered
 * @param rooms the rooms known (from the last `/rooms` and the user's own)
 * @param op true when the server says the user is an operator: its commands are offered too
 * @returns the replacements for the word, in order
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completeInput } from "./commands.ts";
 * assert.ok(completeInput("", "/ms", [], "me")[0] === "/msg ");
 * assert.ok(completeInput("", "bo", ["bob", "me"], "me")[0] === "bob: ");
 * assert.ok(completeInput("/msg ", "B", ["bob"], "me")[0] === "bob ");
 * assert.ok(completeInput("/join ", "#r", [], "me", ["#main", "#rust"])[0] === "#rust ");
 * ```
 */
export function completeInput(
  before: string,
  word: string,
  names: readonly string[],
  myName: string,
  rooms: readonly string[] = [],
  op = false,
): string[] {
  if (before === "" && word.startsWith("/")) {
    const prefix = word.toLowerCase();
    return (op ? OP_COMMAND_WORDS : COMMAND_WORDS).filter((command) => command.startsWith(prefix))
      .map((c) => `${c} `);
  }
  if (_ROOM_ARGUMENT.test(before) || word.startsWith("#")) {
    const typed = word.toLowerCase();
    const prefix = typed.startsWith("#") ? typed : "#" + typed;
    return [...new Set(rooms)].filter((room) => room.startsWith(prefix)).sort().map((room) =>
      `${room} `
    );
  }
  const at = word.startsWith("@") ? "@" : "";
  const prefix = nameKey(word.slice(at.length));
  const me = nameKey(myName);
  const suffix = before === "" && at === "" ? ": " : " ";
  const matches = names
    .filter((name) => {
      const key = nameKey(name);
      return key !== me && key.startsWith(prefix);
    })
    .sort((a, b) => nameKey(a).localeCompare(nameKey(b)));
  if (_NAME_ARGUMENT.test(before)) return matches.map((name) => `${name} `);
  return matches.map((name) => `${at}${name}${suffix}`);
}
