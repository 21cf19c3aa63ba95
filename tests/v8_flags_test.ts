/**
 * The V8 flags chat runs with are given in two places that cannot share code: the `chat` and
 * `serve` tasks in `deno.json`, and the executable `deno task compile` builds. They must agree.
 */

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { V8_FLAGS } from "../tools/runtime_flags.ts";

Deno.test("the chat and serve tasks run with the V8 flags the executable is built with", () => {
  const flag = `--v8-flags=${V8_FLAGS.join(",")}`;
  for (const task of ["chat", "serve"] as const) {
    const words = config.tasks[task].split(" ");
    assert.ok(words.includes(flag), `deno.json task ${task} lacks ${flag}: ${config.tasks[task]}`);
    assert.ok(words.indexOf(flag) < words.indexOf("main.ts"), `${flag} must come before main.ts`);
  }
});
