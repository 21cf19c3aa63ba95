/**
 * What a line typed by a person means: chat text or a slash command. Used for text clients
 * (plain frame64 and line clients) by the server, and by the terminal client for its input.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { quote } from "./sanitize.ts";

/** The meaning of one line of input; see {@linkcode parseTextInput}. */
export type TextCommand =
  | { readonly kind: "say"; readonly text: string }
  | { readonly kind: "me"; readonly text: string }
  | { readonly kind: "dm"; readonly to: string; readonly text: string }
  | { readonly kind: "nick"; readonly name: string }
  | { readonly kind: "who" }
  | { readonly kind: "whois"; readonly name: string }
  | { readonly kind: "help" }
  | { readonly kind: "quit" }
  | { readonly kind: "invalid"; readonly error: ProtocolError };

/** The `kind` of a {@linkcode TextCommand}. */
export type TextCommandKind = TextCommand["kind"];

/** The goodbye of the classic Python socket chat, the same as `/quit`. */
export const DISCONNECT_MESSAGE = "!DISCONNECT FROM SERVER";

/** The commands a person can type, in the order `/help` lists them. */
export const TEXT_COMMAND_HELP: readonly { readonly usage: string; readonly summary: string }[] =
  Object.freeze([
    { usage: "/nick NEW", summary: "change your name" },
    { usage: "/msg NAME TEXT", summary: "send a private message (also /dm NAME TEXT)" },
    { usage: "/me TEXT", summary: 'send an action, shown as "* you TEXT"' },
    { usage: "/who", summary: "list who is online" },
    { usage: "/whois NAME", summary: "show the identity (key fingerprint) behind a name" },
    { usage: "/help", summary: "show this help" },
    { usage: "/quit", summary: `leave the chat (${DISCONNECT_MESSAGE} does the same)` },
    { usage: "//TEXT", summary: 'send TEXT starting with "/"' },
  ]);

function _isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Index of the first character at or after `from` that is not a space or tab. */
function _skipBlanks(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** Index of the first space, tab, CR or LF at or after `from`, or the length. */
function _wordEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && !_isSpace(text.charCodeAt(i))) i++;
  return i;
}

function _usage(usage: string): TextCommand {
  return { kind: "invalid", error: new ProtocolError("bad_command", `Usage: ${usage}`) };
}

function _isDisconnect(line: string): boolean {
  if (!line.startsWith(DISCONNECT_MESSAGE)) return false;
  for (let i = DISCONNECT_MESSAGE.length; i < line.length; i++) {
    if (!_isSpace(line.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Reads one line (or plain frame64 body) of input typed by a person.
 *
 * - `/nick NEW`, `/msg NAME TEXT` (or `/dm NAME TEXT`), `/me TEXT`, `/who`, `/help`, `/quit`
 *   are commands; the command word is matched without regard to case, and `/who`, `/help` and
 *   `/quit` ignore anything after it. A command missing its arguments is `invalid` with a
 *   `bad_command` error giving its usage, e.g. `Usage: /msg NAME TEXT`.
 * - `!DISCONNECT FROM SERVER`, exactly, with only whitespace (or a CR) after it, is `quit`.
 * - An unknown `/word` is `invalid`: `Unknown command "/word": try /help`.
 * - `//text` sends `/text`; a lone `/` or `/` followed by a space is sent as it is.
 * - Anything else is `say` with the line unchanged (blank text is for the caller to ignore).
 *
 * The name in `/nick` and `/msg` is returned as typed: checking it is the server's job.
 *
 * @param line the input, without its line terminator
 * @returns what the input means
 * @example Commands and text
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTextInput } from "./text_commands.ts";
 * const dm = parseTextInput("/msg bob see you at 5");
 * assert.ok(dm.kind === "dm" && dm.to === "bob" && dm.text === "see you at 5");
 * assert.ok(parseTextInput("hello").kind === "say");
 * assert.ok(parseTextInput("!DISCONNECT FROM SERVER").kind === "quit");
 * ```
 */
export function parseTextInput(line: string): TextCommand {
  const first = line.charCodeAt(0);
  if (first === 0x21 && _isDisconnect(line)) return { kind: "quit" };
  if (first !== 0x2f) return { kind: "say", text: line };
  if (line.length === 1 || _isSpace(line.charCodeAt(1))) return { kind: "say", text: line };
  if (line.charCodeAt(1) === 0x2f) return { kind: "say", text: line.slice(1) };

  const wordEnd = _wordEnd(line, 1);
  const word = line.slice(0, wordEnd);
  const argStart = _skipBlanks(line, wordEnd);
  switch (word.toLowerCase()) {
    case "/nick": {
      const name = line.slice(argStart).trim();
      return name === "" ? _usage("/nick NEW") : { kind: "nick", name };
    }
    case "/msg":
    case "/dm": {
      const toEnd = _wordEnd(line, argStart);
      const to = line.slice(argStart, toEnd);
      const text = line.slice(_skipBlanks(line, toEnd));
      if (to === "" || text.trim() === "") return _usage(`${word.toLowerCase()} NAME TEXT`);
      return { kind: "dm", to, text };
    }
    case "/me": {
      const text = line.slice(argStart);
      return text.trim() === "" ? _usage("/me TEXT") : { kind: "me", text };
    }
    case "/who":
      return { kind: "who" };
    case "/whois": {
      const name = line.slice(argStart).trim();
      return name === "" || /\s/.test(name) ? _usage("/whois NAME") : { kind: "whois", name };
    }
    case "/help":
      return { kind: "help" };
    case "/quit":
      return { kind: "quit" };
    default:
      return {
        kind: "invalid",
        error: new ProtocolError("bad_command", `Unknown command ${quote(word)}: try /help`),
      };
  }
}
