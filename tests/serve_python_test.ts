/**
 * The classic Python socket-chat client (`tests/classic_client.py`: 64-byte header, username
 * first) joins a real server and chats with a JSON client. Ignored, with the reason printed,
 * where python3 is not installed.
 */

import assert from "node:assert/strict";
import { joinJson, ROOT, startTestServer } from "./support/net.ts";
import { pythonMissing } from "./support/processes.ts";

const missing = pythonMissing();
if (missing !== undefined) {
  // deno-lint-ignore no-console
  console.log(`serve_python_test ignored: ${missing}`);
}

Deno.test({
  name: "serve: the classic Python client joins, chats and disconnects",
  ignore: missing !== undefined,
  async fn() {
    await using server = await startTestServer();
    const alice = await joinJson(server.port, "alice");
    const python = new Deno.Command("python3", {
      args: [new URL("tests/classic_client.py", ROOT).pathname, String(server.port), "pyuser"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    // Read its output from the start, so the pipes are drained whatever happens.
    const finished = python.output();
    let exited = false;
    void python.status.then(() => exited = true);
    try {
      const join = await alice.client.waitForEvent("join", 20_000);
      assert.equal(join.name, "pyuser");
      const said = await alice.client.waitForEvent("message", 20_000);
      assert.deepEqual([said.from, said.text], ["pyuser", "hello from python"]);
      await alice.client.sendJson({ type: "say", text: "hi python" });
      const leave = await alice.client.waitForEvent("leave", 20_000);
      assert.deepEqual([leave.name, leave.reason], ["pyuser", "quit"]);

      const output = await finished;
      const stdout = new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0, stdout + new TextDecoder().decode(output.stderr));
      const received = stdout.split("\n").filter((l) => l.startsWith("RECV ")).map((l) =>
        l.slice(5)
      );
      assert.equal(received[0], "* welcome, pyuser — 2 online: alice, pyuser");
      assert.ok(received.includes("alice: hi python"), stdout);
      assert.ok(received.includes("* online (2): alice, pyuser"), stdout);
      assert.ok(!received.some((l) => l.includes("hello from python")), "never its own lines");
      assert.match(stdout, /^DONE$/m);
    } finally {
      if (!exited) {
        try {
          python.kill();
        } catch {
          // It exited meanwhile.
        }
      }
      await finished;
      await alice.client.close();
    }
  },
});
