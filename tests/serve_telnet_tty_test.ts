/**
 * A real `telnet` in a real terminal (tmux) against a real server: it is greeted, joins, types
 * `✓` (which telnet sends as `IAC BREAK IAC DO TIMING-MARK` in place of one of its bytes), and
 * still hears the room. Skipped, with the reason, where telnet or tmux is missing.
 */

import assert from "node:assert/strict";
import { joinJson, startTestServer, waitUntil } from "./support/net.ts";
import { run } from "./support/tmux.ts";

/** Why the test cannot run here, or undefined. */
async function missing(): Promise<string | undefined> {
  if ((await run("tmux", ["-V"])).code !== 0) return "tmux is not installed";
  if ((await run("sh", ["-c", "command -v telnet"])).code !== 0) return "telnet is not installed";
  return undefined;
}

const reason = await missing();
if (reason !== undefined) {
  // deno-lint-ignore no-console
  console.log(`serve_telnet_tty_test ignored: ${reason}`);
}

Deno.test({
  name: "telnet in a terminal: greeted, joins, types ✓, and keeps hearing the room",
  ignore: reason !== undefined,
  async fn() {
    await using server = await startTestServer({ quiet: true, greetAfter: 0.3 });
    const alice = (await joinJson(server.port, "alice")).client;
    const socket = `chat-telnet-test-${Deno.pid}`;
    const tmux = (...args: string[]) => run("tmux", ["-L", socket, ...args]);
    const screen = async () => (await tmux("capture-pane", "-p", "-J", "-t", "main")).stdout;
    const waitForScreen = async (text: string) => {
      try {
        await waitUntil(async () => (await screen()).includes(text), JSON.stringify(text), 15_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}; screen:\n${await screen()}`);
      }
    };
    try {
      const started = await tmux(
        "new-session",
        "-d",
        "-s",
        "main",
        "-x",
        "100",
        "-y",
        "30",
        `telnet 127.0.0.1 ${server.port}`,
      );
      assert.equal(started.code, 0, "tmux new-session");
      await waitForScreen("name?");
      await tmux("send-keys", "-t", "main", "zoe", "Enter");
      await waitForScreen("* welcome, zoe");
      await tmux("send-keys", "-t", "main", "-l", "hi ✓ there");
      await tmux("send-keys", "-t", "main", "Enter");
      const said = await alice.waitForEvent((e) => e.type === "message" && e.from === "zoe");
      assert.equal(said.text, "hi ✓ there");
      // Before the fix, telnet waited for WILL TIMING-MARK and threw away all output.
      await alice.sendJson({ type: "say", text: "hello zoe" });
      await waitForScreen("alice: hello zoe");
      assert.ok(!(await screen()).includes("! bad_utf8"), await screen());
    } finally {
      await tmux("kill-server");
      await alice.close();
    }
  },
});
