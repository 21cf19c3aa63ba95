/**
 * The command registry: every action a member can take, with its help text. JSON events and
 * the slash commands of text clients both end up here, so each action is written once and
 * `/help` is generated from the entries.
 *
 * @module
 */

/** What a command may do to the member that ran it. */
export interface CommandTarget {
  /** Relays a chat message or action. */
  say(text: string, kind: "say" | "me"): void;
  /** Sends a private message. */
  directMessage(to: string, text: string): void;
  /** Renames the member. */
  rename(name: string): void;
  /** Sends the member the user list. */
  sendWho(): void;
  /** Sends the member what is known of one member's identity. */
  sendWhois(name: string): void;
  /** Sends the member informational text lines. */
  sendInfo(lines: readonly string[]): void;
  /** Leaves the room and closes the connection. */
  quit(): void;
}

/** The arguments of the commands, by name. */
export interface CommandArguments {
  say: { readonly text: string };
  me: { readonly text: string };
  dm: { readonly to: string; readonly text: string };
  nick: { readonly name: string };
  who: Record<string, never>;
  whois: { readonly name: string };
  help: Record<string, never>;
  quit: Record<string, never>;
}

/** The name of a command. */
export type CommandName = keyof CommandArguments;

/** One entry of the registry. */
export interface Command<N extends CommandName> {
  /** How a text client writes it. */
  readonly usage: string;
  /** One line for `/help`. */
  readonly summary: string;
  /** True when flood control counts it. */
  readonly counted: boolean;
  /** Carries it out. */
  readonly run: (target: CommandTarget, args: CommandArguments[N]) => void;
}

/**
 * The registry itself. Adding a command is adding an entry here (and its parsing in
 * `protocol/text_commands.ts` and `protocol/event_parser.ts`).
 */
export const COMMANDS: { readonly [N in CommandName]: Command<N> } = {
  say: {
    usage: "TEXT",
    summary: "send a message to everyone",
    counted: true,
    run: (target, { text }) => target.say(text, "say"),
  },
  me: {
    usage: "/me TEXT",
    summary: 'send an action ("* alice waves")',
    counted: true,
    run: (target, { text }) => target.say(text, "me"),
  },
  dm: {
    usage: "/msg NAME TEXT",
    summary: "send a private message",
    counted: true,
    run: (target, { to, text }) => target.directMessage(to, text),
  },
  nick: {
    usage: "/nick NEW",
    summary: "change your name",
    counted: true,
    run: (target, { name }) => target.rename(name),
  },
  who: {
    usage: "/who",
    summary: "list who is online",
    counted: false,
    run: (target) => target.sendWho(),
  },
  whois: {
    usage: "/whois NAME",
    summary: "show the identity (key fingerprint) behind a name",
    counted: false,
    run: (target, { name }) => target.sendWhois(name),
  },
  help: {
    usage: "/help",
    summary: "show this help",
    counted: false,
    run: (target) => target.sendInfo(helpLines()),
  },
  quit: {
    usage: "/quit",
    summary: 'leave (so does "!DISCONNECT FROM SERVER")',
    counted: false,
    run: (target) => target.quit(),
  },
};

/**
 * Runs a command by name.
 *
 * @param target the member running it
 * @param name the command
 * @param args its arguments
 */
export function runCommand<N extends CommandName>(
  target: CommandTarget,
  name: N,
  args: CommandArguments[N],
): void {
  COMMANDS[name].run(target, args);
}

/**
 * The `/help` text, generated from the registry.
 *
 * @returns one line per command
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpLines } from "./commands.ts";
 * assert.ok(helpLines().some((line) => line.includes("/nick NEW")));
 * ```
 */
export function helpLines(): string[] {
  const entries = Object.values(COMMANDS) as Command<CommandName>[];
  const width = Math.max(...entries.map((c) => c.usage.length));
  return ["commands:", ...entries.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)];
}
