/**
 * Moderation through the real terminal client: `chat join` runs in tmux. An operator's client
 * completes the operator commands and kicks someone; a member kicked by an operator sees who
 * kicked it and why, and the client ends instead of reconnecting. The password comes from
 * `CHAT_PASSWORD`. Skipped, with the reason, when tmux is missing.
 */

import assert from "node:assert/strict";
import { Recorder, startTestServer, waitFor } from "./support/client_harness.ts";
import { ChatSession } from "../client/session.ts";
import { loadIdentity, newIdentity } from "../client/identity.ts";
import { Tmux, TMUX_MISSING } from "./support/tmux.ts";
import { tempDir } from "./support/temp.ts";

const HOST = "127.0.0.1";
const PASSWORD = "moderated";

/**
 * `chat join` as alice in its own XDG dirs, with the password in `CHAT_PASSWORD`, through a
 * shell that prints the exit status.
 */
function joinCommand(port: number, xdg: string): string {
  const env = `XDG_CONFIG_HOME=${xdg}/config XDG_DATA_HOME=${xdg}/data CHAT_PASSWORD=${PASSWORD}`;
  return `env -u NO_COLOR ${env} ${Deno.execPath()} run -A main.ts join ${HOST}:${port} ` +
    `--name alice; echo "exit status $?"; sleep 30`;
}

Deno.test({
  name: "tty moderation: an operator's chat join completes /kick and kicks someone",
  ignore: TMUX_MISSING,
  async fn() {
    const xdg = tempDir("chat-mod-tty-");
    // The identity chat join will use, made first so the server can name it with --op.
    const { identity } = await loadIdentity(`${xdg}/config/chat/identity`);
    const server = await startTestServer({ ops: [identity.fingerprint], password: PASSWORD });
    const seen = new Recorder();
    const bob = new ChatSession(
      { host: HOST, port: server.port, reconnect: false, password: PASSWORD },
      seen,
    );
    const tmux = new Tmux({ prefix: "chat-mod-test", joinWrapped: true, waitMs: 20_000 });
    try {
      await bob.connect();
      await bob.join("bob");
      await tmux.start(joinCommand(server.port, xdg));
      await tmux.waitForScreen((s) => s.includes("You are an operator here"), "the op notice");
      await tmux.waitForScreen((s) => /alice #main> ?$/m.test(s), "the prompt");
      await tmux.type("/ki");
      await tmux.keys("Tab");
      await tmux.type("bo");
      await tmux.keys("Tab");
      await tmux.waitForScreen((s) => s.includes("alice #main> /kick bob "), "the completion");
      await tmux.type("spamming the room");
      await tmux.keys("Enter");
      const end = await bob.ended;
      assert.deepEqual(end, {
        reason: "lost",
        message: "you were kicked by alice: spamming the room",
      });
      await tmux.waitForScreen((s) => s.includes("alice kicked bob: spamming the room"), "the ack");
      await tmux.waitForScreen((s) => s.includes("bob was kicked"), "the leave");
    } finally {
      await tmux.kill();
      await bob.quit();
      await server.close();
      await Deno.remove(xdg, { recursive: true });
    }
  },
});

Deno.test({
  name: "tty moderation: a member kicked by an operator sees who and why, and the client exits",
  ignore: TMUX_MISSING,
  async fn() {
    const xdg = tempDir("chat-mod-tty-");
    const opIdentity = await newIdentity();
    const server = await startTestServer({ ops: [opIdentity.fingerprint], password: PASSWORD });
    const op = new ChatSession(
      {
        host: HOST,
        port: server.port,
        reconnect: false,
        identity: opIdentity,
        password: PASSWORD,
      },
      new Recorder(),
    );
    const tmux = new Tmux({ prefix: "chat-mod-test", joinWrapped: true, waitMs: 20_000 });
    try {
      await op.connect();
      await op.join("op");
      await tmux.start(joinCommand(server.port, xdg));
      await tmux.waitForScreen((s) => /alice #main> ?$/m.test(s), "the prompt");
      const screen = await tmux.screen();
      assert.ok(!screen.includes("operator"), "alice is not told she is an operator");
      // Tab offers her no operator command.
      await tmux.type("/ki");
      await tmux.keys("Tab");
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok((await tmux.screen()).includes("alice #main> /ki"));
      assert.ok(!(await tmux.screen()).includes("/kick"));
      await tmux.keys("C-u");
      await waitFor(() => server.chat.localMember("alice") !== undefined, "alice to join");
      op.send({ type: "mod", action: "kick", target: "alice", reason: "spamming the room" });
      await tmux.waitForScreen(
        (s) => s.includes("You were kicked by op: spamming the room"),
        "the reason on alice's screen",
      );
      const after = await tmux.waitForScreen((s) => /^exit status \d+$/m.test(s), "the exit");
      assert.ok(!after.includes("Reconnecting"), after);
    } finally {
      await tmux.kill();
      await op.quit();
      await server.close();
      await Deno.remove(xdg, { recursive: true });
    }
  },
});
