/**
 * The layering of ARCHITECTURE.md, checked: which directories a module of each layer may import
 * from. Test files (`*_test.ts`, `*_bench.ts`) are exempt, as they may start servers to test a
 * client; `tests/` is the place for what both sides need in tests.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/**
 * For each layer, the layers its modules may import (besides itself and `node:`/`npm:`); a file
 * at the root, such as `deno.json`, counts as its own name.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  flags: ["deno.json"],
  core: ["protocol"],
  server: ["protocol", "core", "flags", "store"],
  store: [],
  client: ["protocol", "core", "flags"],
  tools: ["flags"],
  bench: ["protocol", "server", "client", "flags", "tools"],
};

/** The imports that must never exist, named as ARCHITECTURE.md names them. */
const FORBIDDEN: readonly [string, string][] = [
  ["protocol", "server"],
  ["protocol", "client"],
  ["server", "client"],
  ["client", "server"],
];

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g;

async function modules(layer: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${layer}/`, ROOT))) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    if (entry.name.endsWith("_test.ts") || entry.name.endsWith("_bench.ts")) continue;
    files.push(entry.name);
  }
  return files.sort();
}

/** The top-level directory each relative import of a file points into. */
function importedLayers(layer: string, source: string): string[] {
  const layers: string[] = [];
  for (const match of source.matchAll(SPECIFIER)) {
    const specifier = match[1]!;
    if (!specifier.startsWith(".")) continue;
    const target = new URL(specifier, new URL(`${layer}/x.ts`, ROOT));
    const relative = target.pathname.slice(ROOT.pathname.length);
    layers.push(relative.includes("/") ? relative.split("/")[0]! : relative);
  }
  return layers;
}

Deno.test("architecture: every module imports only the layers ARCHITECTURE.md allows", async () => {
  const violations: string[] = [];
  let checked = 0;
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    for (const file of await modules(layer)) {
      const source = await Deno.readTextFile(new URL(`${layer}/${file}`, ROOT));
      checked++;
      for (const target of importedLayers(layer, source)) {
        if (target !== layer && !allowed.includes(target)) {
          violations.push(`${layer}/${file} imports ${target}/`);
        }
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} modules found`);
  assert.deepEqual(violations, []);
});

Deno.test("architecture: the forbidden imports are forbidden by the table", () => {
  for (const [from, to] of FORBIDDEN) {
    assert.ok(!ALLOWED[from]!.includes(to), `${from} may not import ${to}`);
  }
});

Deno.test("architecture: the check sees a forbidden import when there is one", () => {
  assert.deepEqual(importedLayers("protocol", 'import { x } from "../server/y.ts";'), ["server"]);
  assert.deepEqual(importedLayers("client", 'export { x } from "../server/y.ts";'), ["server"]);
  assert.deepEqual(importedLayers("client", 'const m = await import("../server/y.ts");'), [
    "server",
  ]);
  assert.deepEqual(importedLayers("server", 'import type { T } from "./t.ts";'), ["server"]);
  assert.deepEqual(importedLayers("core", 'import "node:process";'), []);
});
