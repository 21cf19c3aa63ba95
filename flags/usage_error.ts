/**
 * The error every command-line parser in chat throws for a usage mistake.
 *
 * @module
 */

/**
 * A mistake in how chat was called: an unknown command or option, a missing or bad value, an
 * extra argument. The CLI prints its message, then the usage line of the command, and exits
 * with code 2.
 *
 * @example Throw and catch one
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./usage_error.ts";
 * const error = new UsageError("Unknown option: \"--colour\"");
 * assert.ok(error instanceof TypeError);
 * assert.ok(error.name === "UsageError");
 * ```
 */
export class UsageError extends TypeError {
  /**
   * @param message one sentence naming the mistake: capital first letter, no final period,
   *   values quoted
   * @param options the usual error options, such as a `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
