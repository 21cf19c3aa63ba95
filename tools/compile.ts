/**
 * `deno task compile`: builds chat into one executable (`dist/chat` by default) with
 * `deno compile`, then checks that the executable really runs chat.
 *
 * `deno compile` needs the `denort` runtime for the target, which it downloads from Deno's
 * servers. Where that download is blocked, set `DENORT_BIN` to a local denort binary of the
 * same Deno version and target. (The full `deno` binary is not a denort: an executable built on
 * it behaves like plain `deno`, so this tool refuses it and checks the result.)
 *
 * Usage: `deno task compile [--target TRIPLE] [--output PATH]`. Exit code 0 when built and
 * checked, 1 when the build failed, 2 for a usage mistake.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { parseFlags } from "../flags/flags.ts";
import { UsageError } from "../flags/usage_error.ts";
import { VERSION } from "../flags/version.ts";
import { V8_FLAGS } from "./runtime_flags.ts";

/** The target `deno compile` builds for unless told otherwise. */
export const DEFAULT_TARGET = "x86_64-unknown-linux-gnu";

/** Where the executable is written unless told otherwise, relative to the working directory. */
export const DEFAULT_OUTPUT = "dist/chat";

/** The permissions compiled into the executable: all that `chat serve` and `chat join` need. */
export const COMPILE_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-env",
  "--allow-sys",
  "--allow-read",
  "--allow-write",
]);

/** What to build. */
export interface CompileOptions {
  /** The target triple, such as `aarch64-apple-darwin` (default {@linkcode DEFAULT_TARGET}). */
  readonly target?: string;
  /** The executable's path (default {@linkcode DEFAULT_OUTPUT}). */
  readonly output?: string;
  /** Stops the build (and the check) when aborted. */
  readonly signal?: AbortSignal;
}

/** The outcome of {@linkcode compileChat}. */
export type CompileResult =
  | {
    /** Built, and checked if the target is this machine's. */
    readonly ok: true;
    /** The absolute path of the executable. */
    readonly output: string;
    /** Whether the executable was run and printed chat's version. */
    readonly checked: boolean;
  }
  | {
    /** Not built. */
    readonly ok: false;
    /** One sentence saying why, and what to do about it. */
    readonly reason: string;
    /** What `deno compile` printed, if it ran and failed. */
    readonly details: string;
  };

const _ROOT = new URL("../", import.meta.url);

/**
 * Builds chat into one executable with `deno compile`, and if the target is this machine's,
 * runs it with `--version` to check that it is chat.
 *
 * @param options the target, the output path and an abort signal
 * @returns whether it worked, and if not, why
 *
 * @example Build into a temporary directory
 * ```ts ignore
 * import { compileChat } from "./compile.ts";
 * const result = await compileChat({ output: "/tmp/chat-build/chat" });
 * if (!result.ok) console.error(result.reason);
 * ```
 */
export async function compileChat(options: CompileOptions = {}): Promise<CompileResult> {
  const target = options.target ?? DEFAULT_TARGET;
  const output = resolve(options.output ?? DEFAULT_OUTPUT);
  const refusal = await _checkDenortBin();
  if (refusal !== undefined) return { ok: false, reason: refusal, details: "" };

  await Deno.mkdir(dirname(output), { recursive: true });
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        ...COMPILE_PERMISSIONS,
        `--v8-flags=${V8_FLAGS.join(",")}`,
        "--target",
        target,
        "--output",
        output,
        "main.ts",
      ],
      cwd: _ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }).output();
  } catch (error) {
    if (options.signal?.aborted) {
      return {
        ok: false,
        reason: "The build was stopped before deno compile finished",
        details: "",
      };
    }
    throw error;
  }
  const details = _plain(
    new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr),
  );
  if (!result.success) {
    if (options.signal?.aborted) {
      return { ok: false, reason: "The build was stopped before deno compile finished", details };
    }
    return { ok: false, reason: _explainFailure(details, target, result.code), details };
  }
  if (target !== Deno.build.target) return { ok: true, output, checked: false };

  const problem = await _checkExecutable(output, options.signal);
  if (problem !== undefined) {
    await Deno.remove(output).catch(() => {});
    return { ok: false, reason: problem, details: "" };
  }
  return { ok: true, output, checked: true };
}

/** Refuses a `DENORT_BIN` that is missing or is the full deno binary. */
async function _checkDenortBin(): Promise<string | undefined> {
  const denort = Deno.env.get("DENORT_BIN");
  if (denort === undefined || denort === "") return undefined;
  let real: string;
  try {
    real = await Deno.realPath(denort);
  } catch {
    return `DENORT_BIN does not point at a file: ${JSON.stringify(denort)}`;
  }
  if (real === await Deno.realPath(Deno.execPath())) {
    return `DENORT_BIN points at the full deno binary, which builds an executable that runs ` +
      `plain deno instead of chat; point it at a denort binary: ${JSON.stringify(denort)}`;
  }
  return undefined;
}

/** Says in one sentence why `deno compile` failed. */
function _explainFailure(details: string, target: string, code: number): string {
  const denort = Deno.env.get("DENORT_BIN");
  const missing = /Could not find denort at '([^']*)'/.exec(details);
  if (missing) return `DENORT_BIN does not point at a file: ${JSON.stringify(missing[1])}`;
  const download = /dl\.deno\.land|denort-|dns error|error sending request|failed to lookup/i;
  if ((denort === undefined || denort === "") && download.test(details)) {
    return `deno compile could not download the denort runtime it builds on (the download is ` +
      `blocked or offline); set DENORT_BIN to a local denort binary for deno ` +
      `${Deno.version.deno} and ${target}, then run 'deno task compile' again`;
  }
  const firstError = details.split("\n").find((line) => line.startsWith("error:"));
  return `deno compile failed with exit code ${code}` +
    (firstError === undefined ? "" : `: ${JSON.stringify(firstError.slice(7).trim())}`);
}

/** Runs the executable with `--version`; returns a problem sentence, or nothing if it is chat. */
async function _checkExecutable(
  path: string,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(30_000);
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(path, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    }).output();
  } catch (error) {
    return `The built executable could not be run: ${
      JSON.stringify(error instanceof Error ? error.message : String(error))
    }`;
  }
  const printed = new TextDecoder().decode(result.stdout).trim();
  // `chat --version` prints `chat VERSION`, then the Deno version and the target.
  if (printed.split("\n")[0] === `chat ${VERSION}`) return undefined;
  if (printed.startsWith("deno ")) {
    return `The built executable runs plain deno instead of chat, which happens when ` +
      `DENORT_BIN is the full deno binary; point DENORT_BIN at a denort binary`;
  }
  return `The built executable did not print "chat ${VERSION}" for --version: ` +
    JSON.stringify(printed.slice(0, 200));
}

/** Drops ANSI colour codes. */
function _plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

const _FLAGS = {
  target: { type: "string" },
  output: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const _USAGE = "Usage: deno task compile [--target TRIPLE] [--output PATH]";

const _HELP = `deno task compile: build chat into one executable

${_USAGE}

Options:
  --target TRIPLE   Platform to build for, as deno compile names it (default: ${DEFAULT_TARGET})
  --output PATH     Where to write the executable (default: ${DEFAULT_OUTPUT})
  -h, --help        Show this help

deno compile downloads the denort runtime for the target from Deno's servers. Where that is
blocked, set DENORT_BIN to a local denort binary of deno ${Deno.version.deno} for the target.
`;

/**
 * The command line of the compile tool.
 *
 * @param args the arguments, such as `["--output", "dist/chat"]`
 * @returns the exit code: 0 built, 1 failed, 2 usage mistake
 */
export async function main(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseFlags(args, _FLAGS, 0));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // deno-lint-ignore no-console
    console.error(`${error.message}\n${_USAGE}\nRun 'deno task compile --help' for details.`);
    return 2;
  }
  if (values.help) {
    // deno-lint-ignore no-console
    console.log(_HELP.trimEnd());
    return 0;
  }
  const result = await compileChat({
    ...(values.target === undefined ? {} : { target: values.target }),
    ...(values.output === undefined ? {} : { output: values.output }),
  });
  if (!result.ok) {
    if (!result.reason.includes("denort runtime") && result.details !== "") {
      // deno-lint-ignore no-console
      console.error(result.details.trimEnd());
    }
    // deno-lint-ignore no-console
    console.error(result.reason);
    return 1;
  }
  const size = (await Deno.stat(result.output)).size;
  // deno-lint-ignore no-console
  console.log(
    `Built ${result.output} (${(size / 1048576).toFixed(1)} MiB)` +
      (result.checked ? `: it prints "chat ${VERSION}"` : ", not run: built for another platform"),
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
