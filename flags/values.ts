/**
 * Readers for the values of command-line flags: numbers within a range, one of a few words, and
 * host names. Each throws a {@linkcode UsageError} that names the flag and quotes the value.
 *
 * @module
 */

import { UsageError } from "./usage_error.ts";

/** The range a numeric flag accepts. */
export interface NumberRule {
  /** Whether only whole numbers are allowed (otherwise decimals such as `0.5` are fine). */
  readonly integer: boolean;
  /** The smallest value allowed, or the bound the value must be above if `aboveMin` is set. */
  readonly min: number;
  /** If true, the value must be greater than `min`, not equal to it. */
  readonly aboveMin?: boolean;
  /** The largest value allowed; none if absent. */
  readonly max?: number;
  /** The unit named in the error, such as `seconds`. */
  readonly unit?: string;
  /** What 0 means, added to the error when 0 is allowed and special (`"turns it off"`). */
  readonly zeroMeans?: string;
}

const _INTEGER = /^[0-9]+$/;
const _DECIMAL = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

/**
 * Reads a number flag, written in plain decimal digits (`10`, `2.5`, `.5`; no signs, exponents
 * or spaces), and checks it against a rule.
 *
 * @param flag the flag as written in messages, such as `--port`
 * @param text the value given
 * @param rule the range allowed
 * @returns the number
 * @throws {UsageError} if the text is not such a number or is out of range
 *
 * @example Read a port
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNumber } from "./values.ts";
 * const port = parseNumber("--port", "6000", { integer: true, min: 0, max: 65535 });
 * assert.ok(port === 6000);
 * ```
 */
export function parseNumber(flag: string, text: string, rule: NumberRule): number {
  const value = (rule.integer ? _INTEGER : _DECIMAL).test(text) ? Number(text) : NaN;
  const fits = Number.isFinite(value) &&
    (rule.integer ? Number.isSafeInteger(value) : true) &&
    (rule.aboveMin ? value > rule.min : value >= rule.min) &&
    (rule.max === undefined || value <= rule.max);
  if (!fits) {
    throw new UsageError(
      `The ${flag} value must be ${describeNumberRule(rule)}: ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * Says in words what a {@linkcode NumberRule} accepts, as used in error messages and help.
 *
 * @param rule the range
 * @returns a phrase such as `a whole number from 0 to 65535`
 *
 * @example Describe a duration
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeNumberRule } from "./values.ts";
 * const words = describeNumberRule({ integer: false, min: 0, aboveMin: true, unit: "seconds" });
 * assert.ok(words === "a number of seconds above 0");
 * ```
 */
export function describeNumberRule(rule: NumberRule): string {
  const kind = rule.integer ? "a whole number" : "a number";
  const unit = rule.unit === undefined ? "" : ` of ${rule.unit}`;
  let range: string;
  if (rule.aboveMin) {
    range = rule.max === undefined
      ? `above ${rule.min}`
      : `above ${rule.min} and at most ${rule.max}`;
  } else if (rule.max === undefined) {
    range = unit === "" ? `of ${rule.min} or more` : `, ${rule.min} or more`;
  } else {
    range = `from ${rule.min} to ${rule.max}`;
  }
  const zero = rule.zeroMeans !== undefined && rule.min === 0 && !rule.aboveMin
    ? `, where 0 ${rule.zeroMeans}`
    : "";
  return `${kind}${unit}${range.startsWith(",") ? "" : " "}${range}${zero}`;
}

/**
 * Reads a flag that must be one of a few words.
 *
 * @param flag the flag as written in messages, such as `--log`
 * @param text the value given
 * @param choices the words allowed
 * @returns the value, typed as one of the choices
 * @throws {UsageError} if the value is not one of the choices
 *
 * @example Read a log format
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseChoice } from "./values.ts";
 * const format = parseChoice("--log", "json", ["text", "json"] as const);
 * assert.ok(format === "json");
 * ```
 */
export function parseChoice<const C extends string>(
  flag: string,
  text: string,
  choices: readonly C[],
): C {
  const found = choices.find((choice) => choice === text);
  if (found === undefined) {
    const words = choices.map((choice) => JSON.stringify(choice));
    const list = words.length <= 2
      ? words.join(" or ")
      : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
    throw new UsageError(`The ${flag} value must be ${list}: ${JSON.stringify(text)}`);
  }
  return found;
}

const _HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/;
const _IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/**
 * Tells whether a text is a host name, an IPv4 address or an IPv6 address (without brackets,
 * optionally with a `%zone`). Only the characters and shape are checked, nothing is looked up.
 *
 * @param text the host
 * @returns true if it can be a host
 *
 * @example Check a few
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHost } from "./values.ts";
 * assert.ok(isHost("example.org") && isHost("::1") && isHost("10.0.0.2"));
 * assert.ok(!isHost("a b") && !isHost("") && !isHost("[::1]"));
 * ```
 */
export function isHost(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  if (text.includes(":")) return _IPV6.test(text) && text.split(":").length >= 3;
  return _HOST_NAME.test(text);
}
