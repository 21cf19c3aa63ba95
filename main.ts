/**
 * The `chat` command line: `chat serve`, `chat join`, `chat help`, `--help` and `--version`.
 * This file only parses arguments and dispatches; the server and the client are loaded on
 * demand, so help and usage errors stay fast.
 *
 * Exit codes: 0 on success, 2 for a usage mistake, otherwise what the command returns (1 for
 * a failure).
 *
 * @module
 */

import { JOIN_HELP, JOIN_USAGE, parseJoinArgs } from "./client/config.ts";
import { UsageError } from "./flags/usage_error.ts";
import { VERSION } from "./flags/version.ts";
import { parseServeArgs, SERVE_HELP, SERVE_USAGE } from "./server/config.ts";

/** Where `main` writes: one call per block of text, each printed with a final newline. */
export interface CliOutput {
  /** Writes to standard output (help, version). */
  out(text: string): void;
  /** Writes to standard error (usage mistakes, failures). */
  err(text: string): void;
}

/** The environment variables `main` reads. */
export interface CliEnv {
  /** A non-empty value turns colours off in `chat join`. */
  readonly NO_COLOR?: string | undefined;
  /** The Redis of `chat serve` when `--redis` is not given. */
  readonly CHAT_REDIS_URL?: string | undefined;
}

/** The usage line of `chat` itself. */
export const CHAT_USAGE = "Usage: chat <command> [options]";

/**
 * The help of `chat`, printed by `chat --help`, `chat -h` and `chat help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CHAT_HELP } from "./main.ts";
 * assert.ok(CHAT_HELP.includes("chat help serve"));
 * ```
 */
export const CHAT_HELP: string = `chat ${VERSION}: a group chat for the terminal

${CHAT_USAGE}

Commands:
  serve [options]               Run a chat server (default port 5050)
  join [HOST[:PORT]] [options]  Join a server (default: localhost:5050)
  help [COMMAND]                Show the help of chat or of a command

Options:
  -h, --help                    Show this help
  -V, --version                 Print the version

Run 'chat help serve' or 'chat help join' for the options of each command.
`;

const _HELP_USAGE = "Usage: chat help [COMMAND]";

/** The usage line and help of each command. */
const _COMMANDS: Readonly<Record<string, { usage: string; help: string }>> = {
  serve: { usage: SERVE_USAGE, help: SERVE_HELP },
  join: { usage: JOIN_USAGE, help: JOIN_HELP },
  help: { usage: _HELP_USAGE, help: `${_HELP_USAGE}\n\n${CHAT_HELP}` },
};

const _CONSOLE_OUTPUT: CliOutput = {
  // deno-lint-ignore no-console
  out: (text) => console.log(text.replace(/\n$/, "")),
  // deno-lint-ignore no-console
  err: (text) => console.error(text.replace(/\n$/, "")),
};

/**
 * Runs the `chat` command line with the given arguments and returns the exit code.
 *
 * @param args the arguments after `chat`, such as `["serve", "--port", "6000"]`
 * @param output where to print; the console by default
 * @param env the environment variables that matter; read from the process by default
 * @returns 0 on success, 2 for a usage mistake, or the exit code of the command run
 *
 * @example Print the version into a string
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 * let printed = "";
 * const code = await main(["--version"], { out: (t) => printed += t, err: () => {} });
 * assert.ok(code === 0 && printed.startsWith("chat "));
 * ```
 */
export async function main(
  args: readonly string[],
  output: CliOutput = _CONSOLE_OUTPUT,
  env: CliEnv = _readEnv(),
): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined) {
      throw new UsageError(`A command is missing: give "serve", "join" or "help"`);
    }
    if (command === "-h" || command === "--help") return _print(output, CHAT_HELP, rest);
    if (command === "-V" || command === "--version") return _print(output, `chat ${VERSION}`, rest);
    if (command === "help") {
      try {
        return _help(output, rest);
      } catch (error) {
        return _usageFailure(output, error, "help");
      }
    }
    if (command.startsWith("-")) throw new UsageError(`Unknown option: ${JSON.stringify(command)}`);
    const known = Object.hasOwn(_COMMANDS, command) ? _COMMANDS[command] : undefined;
    if (known === undefined) throw new UsageError(`Unknown command: ${JSON.stringify(command)}`);
    if (_wantsHelp(rest)) {
      output.out(known.help);
      return 0;
    }
  } catch (error) {
    return _usageFailure(output, error, undefined);
  }
  return await _run(command, rest, output, env);
}

/** Runs `serve` or `join`, reporting usage mistakes with that command's usage line. */
async function _run(
  command: string,
  args: readonly string[],
  output: CliOutput,
  env: CliEnv,
): Promise<number> {
  let run: () => Promise<number>;
  try {
    if (command === "serve") {
      const config = parseServeArgs(args, env);
      run = async () => (await import("./server/serve.ts")).runServe(config);
    } else {
      const config = parseJoinArgs(args, env);
      run = async () => (await import("./client/join.ts")).runJoin(config);
    }
  } catch (error) {
    return _usageFailure(output, error, command);
  }
  try {
    return await run();
  } catch (error) {
    output.err(`chat ${command} failed: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
}

/** `chat help [COMMAND]`. */
function _help(output: CliOutput, args: readonly string[]): number {
  const [topic, extra] = args;
  if (topic === undefined) return _print(output, CHAT_HELP, []);
  if (topic === "-h" || topic === "--help") return _print(output, _COMMANDS.help?.help ?? "", []);
  const known = Object.hasOwn(_COMMANDS, topic) ? _COMMANDS[topic] : undefined;
  if (known === undefined) {
    throw new UsageError(`There is no help for an unknown command: ${JSON.stringify(topic)}`);
  }
  if (extra !== undefined) {
    throw new UsageError(`Unexpected extra argument: ${JSON.stringify(extra)}`);
  }
  output.out(known.help);
  return 0;
}

/** Prints a text if nothing follows the flag that asked for it. */
function _print(output: CliOutput, text: string, rest: readonly string[]): number {
  const [extra] = rest;
  if (extra !== undefined) {
    throw new UsageError(`Unexpected extra argument: ${JSON.stringify(extra)}`);
  }
  output.out(text);
  return 0;
}

/** Whether a command's arguments ask for its help (`-h` or `--help` before any `--`). */
function _wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "-h" || arg === "--help") return true;
  }
  return false;
}

/** Prints a usage mistake and the usage of the command it concerns; returns exit code 2. */
function _usageFailure(output: CliOutput, error: unknown, command: string | undefined): number {
  if (!(error instanceof UsageError)) throw error;
  const usage = command === undefined ? CHAT_USAGE : _COMMANDS[command]?.usage ?? CHAT_USAGE;
  const more = command === undefined || command === "help"
    ? "Run 'chat help' for details."
    : `Run 'chat help ${command}' for details.`;
  output.err(`${error.message}\n${usage}\n${more}`);
  return 2;
}

/** Reads `NO_COLOR`, treating a missing permission as unset. */
function _readEnv(): CliEnv {
  try {
    return { NO_COLOR: Deno.env.get("NO_COLOR"), CHAT_REDIS_URL: Deno.env.get("CHAT_REDIS_URL") };
  } catch {
    return {};
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
