/**
 * The command table: every action a member can take, once. Each entry holds its usage and help,
 * whether flood control counts it, whether it needs an operator, how its text form (`/nick NEW`)
 * is parsed, and what it does. The server's `/help` and text-command parsing, and the terminal
 * client's parsing, help and Tab completion all come from this table; JSON events name the same
 * commands (see {@linkcode commandOfEvent}).
 *
 * @module
 */

import { ProtocolError } from "../protocol/errors.ts";
import type { ClientEvent } from "../protocol/events.ts";
import { quote } from "../protocol/sanitize.ts";
import { MAIN_ROOM } from "./broker.ts";

/** What a command may do, for the member that runs it (the server's session provides it). */
export interface CommandContext {
  /** Relays a chat message or action to the member's room. */
  say(text: string, kind: "say" | "me"): void | Promise<void>;
  /** Sends a private message, to a member of any room. */
  directMessage(to: string, text: string): void | Promise<void>;
  /** Renames the member. */
  rename(name: string): void | Promise<void>;
  /** Sends the member the list of its room's members. */
  who(): void | Promise<void>;
  /** Sends the member the list of rooms. */
  rooms(): void | Promise<void>;
  /** Sends the member what is known of one member's identity. */
  whois(name: string): void | Promise<void>;
  /** Moves the member to a room (created when missing). */
  move(room: string): void | Promise<void>;
  /** Sends the member informational text lines (text clients only). */
  info(lines: readonly string[]): void;
  /** Leaves and closes the connection. */
  quit(): void;
}

/** The arguments of each command, by name. */
export interface CommandArguments {
  say: { readonly text: string };
  me: { readonly text: string };
  dm: { readonly to: string; readonly text: string };
  nick: { readonly name: string };
  who: Record<never, never>;
  whois: { readonly name: string };
  join: { readonly room: string };
  part: Record<never, never>;
  rooms: Record<never, never>;
  help: Record<never, never>;
  quit: Record<never, never>;
}

/** The name of a command. */
export type CommandName = keyof CommandArguments;

/** A command with its arguments, as parsed from either input form: `{ kind: "dm", to, text }`. */
export type ParsedCommand = { [N in CommandName]: { readonly kind: N } & CommandArguments[N] }[
  CommandName
];

/** The meaning of one line typed by a person: a command, or why it could not be understood. */
export type TextCommand = ParsedCommand | {
  readonly kind: "invalid";
  readonly error: ProtocolError;
};

/** The `kind` of a {@linkcode TextCommand}. */
export type TextCommandKind = TextCommand["kind"];

/** One entry of the table. */
export interface CommandEntry<N extends CommandName> {
  /** The slash words that run it, the main one first (`/msg`, `/dm`); none for plain text. */
  readonly words: readonly string[];
  /** How a person writes it, for `/help` and usage errors. */
  readonly usage: string;
  /** One line for `/help`. */
  readonly summary: string;
  /** True when flood control counts it. */
  readonly counted: boolean;
  /** True when only an operator may run it. */
  readonly opOnly: boolean;
  /**
   * Parses the text after the command word (blanks before it already skipped).
   *
   * @returns the arguments, or undefined when they are missing (the usage is then shown)
   */
  readonly parse: (rest: string) => CommandArguments[N] | undefined;
  /** The JSON event a client sends for it, or null when it never goes to the server. */
  readonly event: (args: CommandArguments[N]) => ClientEvent | null;
  /** Carries it out. */
  readonly run: (context: CommandContext, args: CommandArguments[N]) => void | Promise<void>;
}

/** The goodbye of the classic Python socket chat, the same as `/quit`. */
export const DISCONNECT_MESSAGE = "!DISCONNECT FROM SERVER";

const NO_ARGUMENTS: Record<never, never> = Object.freeze({});

function text(rest: string): { readonly text: string } | undefined {
  return rest.trim() === "" ? undefined : { text: rest };
}

function word(rest: string): string {
  return rest.trim();
}

/**
 * The table itself, in the order `/help` lists it. Adding a command is adding an entry here
 * (and, when JSON clients have an event for it, a case in `protocol/event_parser.ts` and in
 * {@linkcode commandOfEvent}).
 */
export const COMMANDS: { readonly [N in CommandName]: CommandEntry<N> } = {
  say: {
    words: [],
    usage: "TEXT",
    summary: "send a message to everyone in your room",
    counted: true,
    opOnly: false,
    parse: text,
    event: ({ text }) => ({ type: "say", text }),
    run: (context, { text }) => context.say(text, "say"),
  },
  nick: {
    words: ["/nick"],
    usage: "/nick NEW",
    summary: "change your name",
    counted: true,
    opOnly: false,
    parse: (rest) => word(rest) === "" ? undefined : { name: word(rest) },
    event: ({ name }) => ({ type: "nick", name }),
    run: (context, { name }) => context.rename(name),
  },
  dm: {
    words: ["/msg", "/dm"],
    usage: "/msg NAME TEXT",
    summary: "send a private message, to anyone in any room (also /dm NAME TEXT)",
    counted: true,
    opOnly: false,
    parse: (rest) => {
      const end = wordEnd(rest, 0);
      const to = rest.slice(0, end);
      const message = rest.slice(skipBlanks(rest, end));
      return to === "" || message.trim() === "" ? undefined : { to, text: message };
    },
    event: ({ to, text }) => ({ type: "dm", to, text }),
    run: (context, { to, text }) => context.directMessage(to, text),
  },
  me: {
    words: ["/me"],
    usage: "/me TEXT",
    summary: 'send an action, shown as "* you TEXT"',
    counted: true,
    opOnly: false,
    parse: text,
    event: ({ text }) => ({ type: "me", text }),
    run: (context, { text }) => context.say(text, "me"),
  },
  join: {
    words: ["/join"],
    usage: "/join #ROOM",
    summary: "go to a room, making it if it does not exist",
    counted: true,
    opOnly: false,
    parse: (rest) => word(rest) === "" ? undefined : { room: rest.slice(0, wordEnd(rest, 0)) },
    event: ({ room }) => ({ type: "room", name: room }),
    run: (context, { room }) => context.move(room),
  },
  part: {
    words: ["/part"],
    usage: "/part",
    summary: `leave your room for ${MAIN_ROOM}`,
    counted: true,
    opOnly: false,
    parse: () => NO_ARGUMENTS,
    event: () => ({ type: "room", name: MAIN_ROOM }),
    run: (context) => context.move(MAIN_ROOM),
  },
  rooms: {
    words: ["/rooms"],
    usage: "/rooms",
    summary: "list the rooms and how many are in each",
    counted: false,
    opOnly: false,
    parse: () => NO_ARGUMENTS,
    event: () => ({ type: "rooms" }),
    run: (context) => context.rooms(),
  },
  who: {
    words: ["/who"],
    usage: "/who",
    summary: "list who is in your room",
    counted: false,
    opOnly: false,
    parse: () => NO_ARGUMENTS,
    event: () => ({ type: "who" }),
    run: (context) => context.who(),
  },
  whois: {
    words: ["/whois"],
    usage: "/whois NAME",
    summary: "show the identity (key fingerprint) behind a name",
    counted: false,
    opOnly: false,
    parse: (rest) => {
      const name = rest.trim();
      return name === "" || /\s/.test(name) ? undefined : { name };
    },
    event: ({ name }) => ({ type: "whois", name }),
    run: (context, { name }) => context.whois(name),
  },
  help: {
    words: ["/help"],
    usage: "/help",
    summary: "show this help",
    counted: false,
    opOnly: false,
    parse: () => NO_ARGUMENTS,
    event: () => null,
    run: (context) => context.info(helpLines()),
  },
  quit: {
    words: ["/quit"],
    usage: "/quit",
    summary: `leave the chat (${DISCONNECT_MESSAGE} does the same)`,
    counted: false,
    opOnly: false,
    parse: () => NO_ARGUMENTS,
    event: () => ({ type: "bye" }),
    run: (context) => context.quit(),
  },
};

/** Every command name, in table order. */
export const COMMAND_NAMES: readonly CommandName[] = Object.freeze(
  Object.keys(COMMANDS) as CommandName[],
);

/** Every slash word of the table (aliases included), in table order, for Tab completion. */
export const COMMAND_WORDS: readonly string[] = Object.freeze(
  COMMAND_NAMES.flatMap((name) => COMMANDS[name].words),
);

const BY_WORD: ReadonlyMap<string, CommandName> = new Map(
  COMMAND_NAMES.flatMap((name) => COMMANDS[name].words.map((w) => [w, name] as const)),
);

/**
 * Runs a parsed command's handler.
 *
 * @param context what the command may do
 * @param command the command
 * @returns what the handler returns (a promise when it waits for the broker)
 */
export function runCommand(context: CommandContext, command: ParsedCommand): void | Promise<void> {
  // The union of entries cannot be called with the union of arguments without this widening;
  // `command.kind` picks the entry that matches its own arguments.
  const entry = COMMANDS[command.kind] as CommandEntry<CommandName>;
  return entry.run(context, command as never);
}

/**
 * The JSON event a client sends for a parsed command.
 *
 * @param command the command
 * @returns the event, or null for a command the client handles alone (`/help`)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventOfCommand, parseTextInput } from "./commands.ts";
 * const command = parseTextInput("/join #rust");
 * assert.ok(command.kind !== "invalid");
 * assert.deepEqual(eventOfCommand(command), { type: "room", name: "#rust" });
 * ```
 */
export function eventOfCommand(command: ParsedCommand): ClientEvent | null {
  const entry = COMMANDS[command.kind] as CommandEntry<CommandName>;
  return entry.event(command as never);
}

/**
 * The command a JSON event asks for, once the client has joined.
 *
 * @param event an event other than `hello`, `ping` and `pong`
 * @returns the command, or undefined for those three
 */
export function commandOfEvent(event: ClientEvent): ParsedCommand | undefined {
  switch (event.type) {
    case "say":
    case "me":
      return { kind: event.type, text: event.text };
    case "dm":
      return { kind: "dm", to: event.to, text: event.text };
    case "nick":
      return { kind: "nick", name: event.name };
    case "who":
      return { kind: "who" };
    case "whois":
      return { kind: "whois", name: event.name };
    case "room":
      return { kind: "join", room: event.name };
    case "rooms":
      return { kind: "rooms" };
    case "bye":
      return { kind: "quit" };
    case "hello":
    case "auth":
    case "ping":
    case "pong":
      return undefined;
  }
}

/**
 * The `/help` lines, generated from the table.
 *
 * @returns one line per command, its usage and summary
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpLines } from "./commands.ts";
 * assert.ok(helpLines().some((line) => line.includes("/join #ROOM")));
 * ```
 */
export function helpLines(): string[] {
  const entries = COMMAND_NAMES.map((name) => COMMANDS[name]).filter((c) => c.words.length > 0);
  const width = Math.max(...entries.map((c) => c.usage.length));
  return [
    "commands:",
    ...entries.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    `  ${"//TEXT".padEnd(width)}  send TEXT starting with "/"`,
  ];
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Index of the first character at or after `from` that is not a space or tab. */
function skipBlanks(line: string, from: number): number {
  let i = from;
  while (i < line.length && (line.charCodeAt(i) === 0x20 || line.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** Index of the first space, tab, CR or LF at or after `from`, or the length. */
function wordEnd(line: string, from: number): number {
  let i = from;
  while (i < line.length && !isSpace(line.charCodeAt(i))) i++;
  return i;
}

function isDisconnect(line: string): boolean {
  if (!line.startsWith(DISCONNECT_MESSAGE)) return false;
  for (let i = DISCONNECT_MESSAGE.length; i < line.length; i++) {
    if (!isSpace(line.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * Reads one line (or plain frame64 body) typed by a person, using the table.
 *
 * - A slash word of the table is that command, matched without regard to case; commands
 *   without arguments ignore anything after the word. A command missing its arguments is
 *   `invalid` with a `bad_command` error giving its usage, e.g. `Usage: /msg NAME TEXT`.
 * - `!DISCONNECT FROM SERVER`, exactly, with only whitespace (or a CR) after it, is `quit`.
 * - An unknown `/word` is `invalid`: `Unknown command "/word": try /help`.
 * - `//text` sends `/text`; a lone `/` or `/` followed by a space is sent as it is.
 * - Anything else is `say` with the line unchanged (blank text is for the caller to ignore).
 *
 * Names and rooms are returned as typed: checking them is the server's job.
 *
 * @param line the input, without its line terminator
 * @returns what the input means
 * @example Commands and text
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTextInput } from "./commands.ts";
 * const dm = parseTextInput("/msg bob see you at 5");
 * assert.ok(dm.kind === "dm" && dm.to === "bob" && dm.text === "see you at 5");
 * assert.ok(parseTextInput("hello").kind === "say");
 * assert.ok(parseTextInput("!DISCONNECT FROM SERVER").kind === "quit");
 * ```
 */
export function parseTextInput(line: string): TextCommand {
  const first = line.charCodeAt(0);
  if (first === 0x21 && isDisconnect(line)) return { kind: "quit" };
  if (first !== 0x2f) return { kind: "say", text: line };
  if (line.length === 1 || isSpace(line.charCodeAt(1))) return { kind: "say", text: line };
  if (line.charCodeAt(1) === 0x2f) return { kind: "say", text: line.slice(1) };

  const end = wordEnd(line, 1);
  const typed = line.slice(0, end);
  const name = BY_WORD.get(typed.toLowerCase());
  if (name === undefined) {
    return {
      kind: "invalid",
      error: new ProtocolError("bad_command", `Unknown command ${quote(typed)}: try /help`),
    };
  }
  const entry = COMMANDS[name] as CommandEntry<CommandName>;
  const args = entry.parse(line.slice(skipBlanks(line, end)).replace(/\r$/, ""));
  if (args === undefined) {
    // The usage names the word as typed (`/dm NAME TEXT` for /dm), in lower case.
    const usage = typed.toLowerCase() + entry.usage.slice(entry.words[0]!.length);
    return { kind: "invalid", error: new ProtocolError("bad_command", `Usage: ${usage}`) };
  }
  return { kind: name, ...args } as ParsedCommand;
}
