/**
 * Lines for the piped client: stdin read as lines of text, and NDJSON for `--json` written so
 * that no character a terminal would act on reaches it, while the data stays exactly what the
 * server sent.
 *
 * @module
 */

/**
 * Characters that `JSON.stringify` leaves as they are but that a terminal could act on or that
 * reorder text: DEL, C1 controls, the Unicode line and paragraph separators and bidi controls.
 */
const _UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Serialises a value as one line of JSON in which every control and bidi character is written
 * as a `\uXXXX` escape. Parsing the line gives back the same value: nothing is lost, but the
 * line is safe to print (every character that reaches the terminal is inert).
 *
 * @param value any JSON value
 * @returns one line of JSON, without a line break
 * @example An escape sequence in a message stays escaped
 * ```ts
 * import assert from "node:assert/strict";
 * import { toJsonLine } from "./lines.ts";
 * const line = toJsonLine({ text: "\x1b[2J\u009b" });
 * assert.ok(line === '{"text":"\\u001b[2J\\u009b"}');
 * assert.ok(JSON.parse(line).text === "\x1b[2J\u009b");
 * ```
 */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    _UNSAFE,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Splits a byte stream into lines of text: UTF-8 (invalid bytes become U+FFFD), split at LF,
 * a CR before the LF dropped. A last line without LF counts too.
 *
 * @param input the bytes
 * @returns the lines, without their terminators
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLines } from "./lines.ts";
 * const bytes = new TextEncoder().encode("one\r\ntwo\nthree");
 * const lines = await Array.fromAsync(readLines(ReadableStream.from([bytes])));
 * assert.ok(lines.join("|") === "one|two|three");
 * ```
 */
export async function* readLines(
  input: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of input) {
    rest += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = rest.indexOf("\n"); end !== -1; end = rest.indexOf("\n", start)) {
      yield _trimCr(rest.slice(start, end));
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.decode();
  if (rest !== "") yield _trimCr(rest);
}

function _trimCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
