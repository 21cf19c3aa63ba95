/**
 * The `chat` command line: `chat serve`, `chat join`, `chat help`, `chat completions`, `--help`
 * and `--version`.
 * This file only parses arguments and dispatches; the server and the client are loaded on
 * demand, so help and usage errors stay fast.
 *
 * Exit codes: 0 on success, 2 for a usage mistake, otherwise what the command returns (1 for
 * a failure).
 *
 * @module
 */

import { JOIN_FLAG_SPECS, JOIN_HELP, JOIN_USAGE, parseJoinArgs } from "./client/config.ts";
import {
  type CompletedCommand,
  completionScript,
  type Shell,
  SHELLS,
} from "./flags/completions.ts";
import { closest, unknownOption } from "./flags/flags.ts";
import { type Invocation, runnable } from "./flags/invocation.ts";
import { UsageError } from "./flags/usage_error.ts";
import { VERSION } from "./flags/version.ts";
import { parseServeArgs, SERVE_FLAG_SPECS, SERVE_HELP, SERVE_USAGE } from "./server/config.ts";
import { EXPORT_HELP, EXPORT_USAGE, parseExportArgs } from "./store/export.ts";

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
  /** The password of `chat serve` when `--password` is not given. */
  readonly CHAT_PASSWORD?: string | undefined;
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
  export --data DIR [options]   Print a server's stored messages as NDJSON
  help [COMMAND]                Show the help of chat or of a command
  completions bash|zsh|fish     Print shell completions (source <(chat completions bash))

Options:
  -h, --help                    Show this help
  -V, --version                 Print the version, the Deno version and the target

Run 'chat help serve' or 'chat help join' for the options of each command.
From a checkout, 'deno task serve' and 'deno task join' run the same commands.
`;

const _HELP_USAGE = "Usage: chat help [COMMAND]";

const _COMPLETIONS_USAGE = "Usage: chat completions bash|zsh|fish";

const _COMPLETIONS_HELP = `chat completions: print a shell completion script

${_COMPLETIONS_USAGE}

The script completes commands, their options and their arguments; it is made from the same
option tables the commands read. Load it for this shell, or put the line in your shell's
start-up file:
  bash   source <(chat completions bash)
  zsh    source <(chat completions zsh)
  fish   chat completions fish | source
`;

/** The usage line, help and completion details of each command. */
const _COMMANDS: Readonly<
  Record<
    string,
    { usage: string; help: string; completion: CompletedCommand }
  >
> = {
  serve: {
    usage: SERVE_USAGE,
    help: SERVE_HELP,
    completion: { name: "serve", summary: "Run a chat server", flags: SERVE_FLAG_SPECS },
  },
  join: {
    usage: JOIN_USAGE,
    help: JOIN_HELP,
    completion: {
      name: "join",
      summary: "Join a server",
      flags: JOIN_FLAG_SPECS,
      argument: "host",
    },
  },
  export: {
    usage: EXPORT_USAGE,
    help: EXPORT_HELP,
    completion: {
      name: "export",
      summary: "Print stored messages as NDJSON",
      flags: {
        data: { type: "string" },
        room: { type: "string" },
        since: { type: "string" },
      },
    },
  },
  help: {
    usage: _HELP_USAGE,
    help: `${_HELP_USAGE}\n\n${CHAT_HELP}`,
    completion: { name: "help", summary: "Show the help", flags: {}, argument: "command" },
  },
  completions: {
    usage: _COMPLETIONS_USAGE,
    help: _COMPLETIONS_HELP,
    completion: {
      name: "completions",
      summary: "Print shell completions",
      flags: {},
      argument: "shell",
    },
  },
};

/**
 * What `chat --version` prints: chat's version, then the Deno it runs on and the target it was
 * built for, which is what a bug report needs.
 *
 * @returns three lines, such as `chat 0.1.0`, `deno 2.9.6`, `target x86_64-unknown-linux-gnu`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionText } from "./main.ts";
 * assert.ok(versionText().split("\n")[1] === `deno ${Deno.version.deno}`);
 * ```
 */
export function versionText(): string {
  return `chat ${VERSION}\ndeno ${Deno.version.deno}\ntarget ${Deno.build.target}`;
}

/**
 * The shell completion script for `chat`, made from the flag tables of its commands.
 *
 * @param shell `bash`, `zsh` or `fish`
 * @returns the script
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chatCompletions } from "./main.ts";
 * assert.ok(chatCompletions("fish").includes("-l max-clients"));
 * ```
 */
export function chatCompletions(shell: Shell): string {
  return completionScript(shell, {
    program: "chat",
    commands: Object.values(_COMMANDS).map((command) => command.completion),
  });
}

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
 * @param invocation how chat was started, which decides how the commands in hints are written;
 *   detected by default
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
  invocation?: Invocation,
): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined) {
      throw new UsageError(`A command is missing: give "serve", "join" or "help"`);
    }
    if (command === "-h" || command === "--help") return _print(output, CHAT_HELP, rest);
    if (command === "-V" || command === "--version") return _print(output, versionText(), rest);
    if (command === "help" || command === "completions") {
      try {
        return command === "help" ? _help(output, rest) : _completions(output, rest);
      } catch (error) {
        return _usageFailure(output, error, command, invocation);
      }
    }
    if (command.startsWith("-")) throw unknownOption(command, {});
    const known = Object.hasOwn(_COMMANDS, command) ? _COMMANDS[command] : undefined;
    if (known === undefined) {
      const near = closest(command, Object.keys(_COMMANDS));
      throw new UsageError(
        `Unknown command: ${JSON.stringify(command)}` +
          (near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`),
      );
    }
    if (_wants(rest, "-h", "--help")) {
      output.out(known.help);
      return 0;
    }
    if (_wants(rest, "-V", "--version")) {
      output.out(versionText());
      return 0;
    }
  } catch (error) {
    return _usageFailure(output, error, undefined, invocation);
  }
  return await _run(command, rest, output, env, invocation);
}

/** Runs `serve` or `join`, reporting usage mistakes with that command's usage line. */
async function _run(
  command: string,
  args: readonly string[],
  output: CliOutput,
  env: CliEnv,
  invocation: Invocation | undefined,
): Promise<number> {
  let run: () => Promise<number>;
  try {
    if (command === "serve") {
      const config = parseServeArgs(args, env);
      run = async () => (await import("./server/serve.ts")).runServe(config);
    } else if (command === "export") {
      const config = parseExportArgs(args);
      run = async () => (await import("./store/export.ts")).runExport(config);
    } else {
      const config = parseJoinArgs(args, env);
      run = async () => (await import("./client/join.ts")).runJoin(config);
    }
  } catch (error) {
    return _usageFailure(output, error, command, invocation);
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

/** `chat completions SHELL`. */
function _completions(output: CliOutput, args: readonly string[]): number {
  const [shell, extra] = args;
  if (shell === "-h" || shell === "--help") return _print(output, _COMPLETIONS_HELP, []);
  const choices = SHELLS.map((name) => JSON.stringify(name)).join(", ");
  if (shell === undefined) throw new UsageError(`A shell is missing: give ${choices}`);
  const known = SHELLS.find((name) => name === shell);
  if (known === undefined) {
    throw new UsageError(
      `There are no completions for this shell, only for ${choices}: ${JSON.stringify(shell)}`,
    );
  }
  return _print(
    output,
    chatCompletions(known).replace(/\n$/, ""),
    extra === undefined ? [] : [extra],
  );
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

/**
 * Whether a command's arguments ask for its help or its version (one of the two spellings
 * before any `--`).
 */
function _wants(args: readonly string[], short: string, long: string): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === short || arg === long) return true;
  }
  return false;
}

/**
 * Prints a usage mistake, the usage of the command it concerns and the help command to run
 * (written as the reader can run it: `chat help serve`, or `deno task chat help serve` in a
 * checkout); returns exit code 2.
 */
function _usageFailure(
  output: CliOutput,
  error: unknown,
  command: string | undefined,
  invocation: Invocation | undefined,
): number {
  if (!(error instanceof UsageError)) throw error;
  const usage = command === undefined ? CHAT_USAGE : _COMMANDS[command]?.usage ?? CHAT_USAGE;
  const topic = command === undefined || command === "help" ? "help" : `help ${command}`;
  output.err(`${error.message}\n${usage}\nRun '${runnable(topic, invocation)}' for details.`);
  return 2;
}

/** Reads `NO_COLOR`, treating a missing permission as unset. */
function _readEnv(): CliEnv {
  try {
    return {
      NO_COLOR: Deno.env.get("NO_COLOR"),
      CHAT_REDIS_URL: Deno.env.get("CHAT_REDIS_URL"),
      CHAT_PASSWORD: Deno.env.get("CHAT_PASSWORD"),
    };
  } catch {
    return {};
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
