/**
 * The version of chat, read from the one place it is written: `deno.json`.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };

/**
 * The version of chat, as written in `deno.json` (for example `0.1.0`).
 *
 * @example Print it
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "./version.ts";
 * assert.ok(/^\d+\.\d+\.\d+/.test(VERSION));
 * ```
 */
export const VERSION: string = config.version;
