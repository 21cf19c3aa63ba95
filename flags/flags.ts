/**
 * Strict flag parsing for chat's commands: `node:util` `parseArgs` in strict mode, with every
 * mistake turned into a {@linkcode UsageError} whose message is one sentence a person can act on.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "./usage_error.ts";

/** How one flag is written: `string` takes a value, `boolean` takes none. */
export interface FlagSpec {
  /** Whether the flag takes a value (`string`) or is a switch (`boolean`). */
  readonly type: "string" | "boolean";
  /** A one-letter alias, written with one dash (`p` for `-p`). */
  readonly short?: string;
}

/** The flags a command accepts, keyed by long name without the dashes (`"max-clients"`). */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The values of the flags that were given: a string for value flags, true for switches. */
export type FlagValues<T extends FlagSpecs> = {
  readonly [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : string;
};

/** What {@linkcode parseFlags} found: the flags given and the plain arguments, in order. */
export interface ParsedFlags<T extends FlagSpecs> {
  /** The flags that were given; a flag given twice keeps its last value. */
  readonly values: FlagValues<T>;
  /** The arguments that are not flags, including everything after `--`. */
  readonly positionals: readonly string[];
}

/** Token shape of `parseArgs` with `tokens: true`, as far as this module reads it. */
interface _Token {
  readonly kind: "option" | "positional" | "option-terminator";
  readonly name?: string;
  readonly rawName?: string;
  readonly value?: string | undefined;
  readonly inlineValue?: boolean | undefined;
}

/**
 * Parses the flags of one command strictly: unknown flags, a value flag without its value, a
 * switch given a value (`--quiet=yes`) and more plain arguments than allowed are usage errors.
 *
 * A value that starts with a dash must be attached with `=` (`--motd=-hi-`), so that a
 * forgotten value never swallows the next flag.
 *
 * @param args the command's arguments, without the command name
 * @param flags the flags the command accepts
 * @param maxPositionals how many plain arguments the command accepts
 * @returns the flag values and the plain arguments
 * @throws {UsageError} naming the first mistake
 *
 * @example Parse a port and a switch
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./flags.ts";
 * const flags = { port: { type: "string", short: "p" }, quiet: { type: "boolean" } } as const;
 * const { values } = parseFlags(["-p", "6000", "--quiet"], flags, 0);
 * assert.ok(values.port === "6000" && values.quiet === true);
 * ```
 */
export function parseFlags<T extends FlagSpecs>(
  args: readonly string[],
  flags: T,
  maxPositionals: number,
): ParsedFlags<T> {
  const options = flags as Record<string, { type: "string" | "boolean"; short?: string }>;
  args = _attachNegativeNumbers(args, flags);
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
    });
    _checkPositionals(positionals, maxPositionals);
    return { values: values as FlagValues<T>, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw _explain(args, flags, maxPositionals, error);
  }
}

/**
 * Rewrites `--flag -5` as `--flag=-5` for value flags, so that a negative number reaches the
 * flag's own range check (which names the allowed range) instead of looking like a flag. No
 * flag is named by a digit, so this cannot hide one.
 */
function _attachNegativeNumbers(args: readonly string[], flags: FlagSpecs): readonly string[] {
  const takesValue = (arg: string): boolean => {
    if (arg.startsWith("--")) {
      const name = arg.slice(2);
      return Object.hasOwn(flags, name) && flags[name]?.type === "string";
    }
    if (arg.length !== 2 || !arg.startsWith("-")) return false;
    return Object.values(flags).some((spec) => spec.short === arg[1] && spec.type === "string");
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (next !== undefined && /^-\.?[0-9]/.test(next) && takesValue(arg)) {
      out.push(arg.startsWith("--") ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Refuses plain arguments beyond the allowed count, naming the first extra one. */
function _checkPositionals(positionals: readonly string[], maxPositionals: number): void {
  const extra = positionals[maxPositionals];
  if (extra !== undefined) throw _extraArgument(extra, maxPositionals);
}

/** The error for a plain argument beyond the allowed count. */
function _extraArgument(extra: string, maxPositionals: number): UsageError {
  return new UsageError(
    maxPositionals === 0
      ? `This command takes no arguments, but got: ${JSON.stringify(extra)}`
      : `Unexpected extra argument: ${JSON.stringify(extra)}`,
  );
}

/**
 * Finds why strict parsing failed by walking the lenient parse's tokens, and says it in one
 * sentence. Falls back to a generic sentence (keeping the original as the cause) if no token
 * explains the failure.
 */
function _explain(
  args: readonly string[],
  flags: FlagSpecs,
  maxPositionals: number,
  original: unknown,
): UsageError {
  const { tokens } = parseArgs({
    args: [...args],
    options: flags as Record<string, { type: "string" | "boolean"; short?: string }>,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  let positionals = 0;
  for (const token of tokens as readonly _Token[]) {
    if (token.kind === "positional") {
      positionals++;
      if (positionals > maxPositionals) return _extraArgument(token.value ?? "", maxPositionals);
      continue;
    }
    if (token.kind !== "option" || token.name === undefined) continue;
    const raw = token.rawName ?? token.name;
    const spec = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    if (spec === undefined) return unknownOption(raw, flags);
    const long = `--${token.name}`;
    if (spec.type === "boolean" && token.value !== undefined) {
      return new UsageError(
        `The ${long} option takes no value, but got: ${JSON.stringify(token.value)}`,
      );
    }
    if (spec.type === "string") {
      if (token.value === undefined) {
        return new UsageError(`The ${long} option needs a value`);
      }
      if (!token.inlineValue && token.value.startsWith("-")) {
        return new UsageError(
          `The ${long} option needs a value, not the option ${JSON.stringify(token.value)} ` +
            `(write ${JSON.stringify(`${long}=${token.value}`)} to mean it as the value)`,
        );
      }
    }
  }
  return new UsageError(
    `The options could not be read: ${JSON.stringify(args.join(" "))}`,
    { cause: original },
  );
}

/**
 * The error for an option a command does not know, with the nearest known long option
 * suggested when one is close enough to be a typo (`--nmae` for `--name`).
 *
 * @param raw the option as written, such as `--nmae` or `-x`
 * @param flags the flags the command accepts; `help` and `version` are always suggested too
 * @returns the error to throw
 *
 * @example Suggest a flag for a swapped pair of letters
 * ```ts
 * import assert from "node:assert/strict";
 * import { unknownOption } from "./flags.ts";
 * const error = unknownOption("--nmae", { name: { type: "string" } });
 * assert.ok(error.message === 'Unknown option: "--nmae" (did you mean "--name"?)');
 * ```
 */
export function unknownOption(raw: string, flags: FlagSpecs): UsageError {
  const known = [...Object.keys(flags), "help", "version"];
  const typed = (raw.split("=")[0] ?? raw).slice(2);
  const near = raw.startsWith("--") ? closest(typed, known) : undefined;
  return new UsageError(
    `Unknown option: ${JSON.stringify(raw)}` +
      (near === undefined ? "" : ` (did you mean ${JSON.stringify(`--${near}`)}?)`),
  );
}

/**
 * The candidate nearest to a mistyped word, if it is near enough to be a typo: at most one
 * edit for short words, two for words of six characters or more, where an edit inserts,
 * deletes or replaces a character or swaps two neighbours. Ties go to the earlier candidate.
 *
 * @param word what was typed
 * @param candidates the words it may have meant
 * @returns the nearest candidate, or undefined if none is near enough
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closest } from "./flags.ts";
 * assert.ok(closest("srve", ["serve", "join"]) === "serve");
 * assert.ok(closest("xyz", ["serve", "join"]) === undefined);
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const allowed = word.length >= 6 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const distance = _editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus swaps of neighbouring characters. */
function _editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        (above[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (above[j - 1] ?? 0) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(value);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
