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
import { looksLikeDuration } from "../protocol/duration.ts";
import type { ClientEvent, ModAction, ModRequestEvent } from "../protocol/events.ts";
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
  /** True when the member is an operator: `/help` then lists the operator commands too. */
  readonly isOp: boolean;
  /** Carries out an operator's command (the session has checked that the member is one). */
  moderate(request: ModRequest): void | Promise<void>;
}

/** An operator's command, as the table hands it to {@linkcode CommandContext.moderate}. */
export type ModRequest =
  | { readonly action: "kick"; readonly target: string; readonly reason?: string }
  | {
    readonly action: "ban";
    readonly target: string;
    readonly duration?: string;
    readonly reason?: string;
  }
  | { readonly action: "mute"; readonly target: string; readonly duration?: string }
  | { readonly action: "unban" | "unmute" | "op" | "deop"; readonly target: string }
  | { readonly action: "bans" };

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
  kick: { readonly target: string; readonly reason?: string };
  ban: { readonly target: string; readonly duration?: string; readonly reason?: string };
  unban: { readonly target: string };
  bans: Record<never, never>;
  mute: { readonly target: string; readonly duration?: string };
  unmute: { readonly target: string };
  op: { readonly target: string };
  deop: { readonly target: string };
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

/** One word and nothing after it: `/unban bob`. */
function target(rest: string): { readonly target: string } | undefined {
  const typed = rest.trim();
  return typed === "" || /\s/.test(typed) ? undefined : { target: typed };
}

/** The first word, and the text after it (trimmed; undefined when blank). */
function firstWord(rest: string): [string, string | undefined] {
  const end = wordEnd(rest, 0);
  const after = rest.slice(skipBlanks(rest, end)).trim();
  return [rest.slice(0, end), after === "" ? undefined : after];
}

/** `NAME [DURATION] [reason]`: a second word that starts like a number is the duration. */
function targetDurationReason(
  rest: string,
): { target: string; duration?: string; reason?: string } | undefined {
  const [who, after] = firstWord(rest);
  if (who === "") return undefined;
  if (after === undefined) return { target: who };
  const [second, more] = firstWord(after);
  if (!looksLikeDuration(second)) return { target: who, reason: after };
  return more === undefined
    ? { target: who, duration: second }
    : { target: who, duration: second, reason: more };
}

/** The JSON `mod` event of an operator's command. */
function modEvent(action: ModAction, args: {
  readonly target?: string;
  readonly duration?: string;
  readonly reason?: string;
}): ClientEvent {
  return {
    type: "mod",
    action,
    ...(args.target === undefined ? {} : { target: args.target }),
    ...(args.duration === undefined ? {} : { duration: args.duration }),
    ...(args.reason === undefined ? {} : { reason: args.reason }),
  };
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
    run: (context) => context.info(helpLines(context.isOp)),
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
  kick: {
    words: ["/kick"],
    usage: "/kick NAME [REASON]",
    summary: "operators: disconnect someone, telling them why",
    counted: false,
    opOnly: true,
    parse: (rest) => {
      const [who, reason] = firstWord(rest);
      if (who === "") return undefined;
      return reason === undefined ? { target: who } : { target: who, reason };
    },
    event: (args) => modEvent("kick", args),
    run: (context, args) => context.moderate({ action: "kick", ...args }),
  },
  ban: {
    words: ["/ban"],
    usage: "/ban NAME|ADDRESS [DURATION] [REASON]",
    summary: "operators: keep an identity (or an address) out, for 10m, 2h, 7d or until lifted",
    counted: false,
    opOnly: true,
    parse: targetDurationReason,
    event: (args) => modEvent("ban", args),
    run: (context, args) => context.moderate({ action: "ban", ...args }),
  },
  unban: {
    words: ["/unban"],
    usage: "/unban NAME|FINGERPRINT|ADDRESS",
    summary: "operators: lift a ban",
    counted: false,
    opOnly: true,
    parse: target,
    event: (args) => modEvent("unban", args),
    run: (context, args) => context.moderate({ action: "unban", ...args }),
  },
  bans: {
    words: ["/bans"],
    usage: "/bans",
    summary: "operators: list the bans in force",
    counted: false,
    opOnly: true,
    parse: () => NO_ARGUMENTS,
    event: () => modEvent("bans", {}),
    run: (context) => context.moderate({ action: "bans" }),
  },
  mute: {
    words: ["/mute"],
    usage: "/mute NAME [DURATION]",
    summary: "operators: stop someone's messages, for a time or until /unmute",
    counted: false,
    opOnly: true,
    parse: (rest) => {
      const parsed = targetDurationReason(rest);
      if (parsed === undefined || parsed.reason !== undefined) return undefined;
      return parsed.duration === undefined
        ? { target: parsed.target }
        : { target: parsed.target, duration: parsed.duration };
    },
    event: (args) => modEvent("mute", args),
    run: (context, args) => context.moderate({ action: "mute", ...args }),
  },
  unmute: {
    words: ["/unmute"],
    usage: "/unmute NAME",
    summary: "operators: let someone speak again",
    counted: false,
    opOnly: true,
    parse: target,
    event: (args) => modEvent("unmute", args),
    run: (context, args) => context.moderate({ action: "unmute", ...args }),
  },
  op: {
    words: ["/op"],
    usage: "/op NAME",
    summary: "operators: make someone's identity an operator",
    counted: false,
    opOnly: true,
    parse: target,
    event: (args) => modEvent("op", args),
    run: (context, args) => context.moderate({ action: "op", ...args }),
  },
  deop: {
    words: ["/deop"],
    usage: "/deop NAME",
    summary: "operators: take operator status away (not from an --op identity)",
    counted: false,
    opOnly: true,
    parse: target,
    event: (args) => modEvent("deop", args),
    run: (context, args) => context.moderate({ action: "deop", ...args }),
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
    case "mod":
      return commandOfMod(event);
    case "hello":
    case "auth":
    case "ping":
    case "pong":
      return undefined;
  }
}

/** The command of a JSON `mod` event (its fields already checked by the event parser). */
function commandOfMod(event: ModRequestEvent): ParsedCommand {
  const target = event.target ?? "";
  const duration = event.duration === undefined ? {} : { duration: event.duration };
  const reason = event.reason === undefined ? {} : { reason: event.reason };
  switch (event.action) {
    case "kick":
      return { kind: "kick", target, ...reason };
    case "ban":
      return { kind: "ban", target, ...duration, ...reason };
    case "mute":
      return { kind: "mute", target, ...duration };
    case "bans":
      return { kind: "bans" };
    case "unban":
    case "unmute":
    case "op":
    case "deop":
      return { kind: event.action, target };
  }
}

/**
 * The `/help` lines, generated from the table.
 *
 * @param op true for an operator: the operator commands are listed too
 * @returns one line per command, its usage and summary
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpLines } from "./commands.ts";
 * assert.ok(helpLines().some((line) => line.includes("/join #ROOM")));
 * assert.ok(!helpLines().some((line) => line.includes("/kick")));
 * assert.ok(helpLines(true).some((line) => line.includes("/kick")));
 * ```
 */
export function helpLines(op = false): string[] {
  const entries = COMMAND_NAMES.map((name) => COMMANDS[name])
    .filter((c) => c.words.length > 0 && (op || !c.opOnly));
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
