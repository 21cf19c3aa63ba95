/**
 * `chat join` and TLS, as a process: first contact pins the certificate and shows it, a changed
 * certificate or a pinned server without TLS is refused (with both fingerprints and the command
 * that forgets the pin), `--fingerprint`, `--plain`, and a known_servers file that cannot be
 * trusted.
 */

import assert from "node:assert/strict";
import { ROOT, startTestServer, type TestServer } from "./support/net.ts";
import type { ServeConfig } from "../server/config.ts";
import { tempDir } from "./support/temp.ts";

const HOST = "127.0.0.1";

interface JoinRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `chat join` with its own config dir, sends one line, and waits for it to exit. */
async function join(configHome: string, args: readonly string[], line = "hi"): Promise<JoinRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "join", ...args, "--no-reconnect"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_CONFIG_HOME: configHome, USER: "tester" },
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(line + "\n")).catch(() => {});
  await writer.close().catch(() => {});
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

function fingerprintOf(server: TestServer): string {
  const fingerprint = server.server.certificate?.fingerprint;
  assert.ok(fingerprint !== undefined);
  return fingerprint;
}

/** A server on fixed ports with its own data dir, so it can be restarted as the same one. */
function serverAt(port: number, tlsPort: number, data: string, more: Partial<ServeConfig> = {}) {
  return startTestServer({ port, tlsPort, data, ...more });
}

Deno.test("join: first contact over the plain port moves to TLS, shows and pins the certificate", async () => {
  const config = tempDir("chat-cfg-");
  await using server = await startTestServer();
  const fingerprint = fingerprintOf(server);
  const first = await join(config, [`${HOST}:${server.port}`, "--name", "alice"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /^First contact with 127\.0\.0\.1:\d+: its TLS certificate is /m);
  assert.ok(first.stderr.includes(fingerprint), first.stderr);
  assert.ok(!first.stderr.includes("Not encrypted"), first.stderr);
  const pins = Deno.readTextFileSync(`${config}/chat/known_servers`);
  assert.ok(pins.includes(`${HOST}:${server.server.tlsPort} ${fingerprint}`), pins);
  assert.ok(pins.includes(`${HOST}:${server.port} ${fingerprint} tls=${server.server.tlsPort}`));
  assert.ok(server.logLines.some((l) => / join name=alice .*tls=true/.test(l)), "joined over TLS");
  // The second time it goes straight to TLS and says nothing about the certificate.
  const second = await join(config, [`${HOST}:${server.port}`, "--name", "alice"]);
  assert.equal(second.code, 0, second.stderr);
  assert.ok(!second.stderr.includes("First contact"), second.stderr);
});

Deno.test("join: a changed certificate is refused with both fingerprints and the forget command", async () => {
  const config = tempDir("chat-cfg-");
  const [port, tlsPort] = [freePort(), freePort()];
  let old: string;
  {
    await using server = await serverAt(port, tlsPort, tempDir("chat-data-a-"));
    old = fingerprintOf(server);
    const run = await join(config, [`${HOST}:${tlsPort}`, "--name", "alice"]);
    assert.equal(run.code, 0, run.stderr);
  }
  await using impostor = await serverAt(port, tlsPort, tempDir("chat-data-b-"));
  const now = fingerprintOf(impostor);
  assert.notEqual(now, old);
  const refused = await join(config, [`${HOST}:${tlsPort}`, "--name", "alice"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /has CHANGED/);
  assert.ok(refused.stderr.includes(now) && refused.stderr.includes(old), refused.stderr);
  assert.ok(refused.stderr.includes(`chat join ${HOST}:${tlsPort} --forget`), refused.stderr);
  assert.equal(impostor.server.chat.size, 0);
  assert.ok(!impostor.logLines.some((l) => / join /.test(l)), "nothing was sent to it");
  // The forget command does what it says; the next join pins the new certificate.
  const forget = await join(config, [`${HOST}:${tlsPort}`, "--forget"]);
  assert.equal(forget.code, 0, forget.stderr);
  assert.match(forget.stderr, /Forgot the pinned certificate/);
  const again = await join(config, [`${HOST}:${tlsPort}`, "--name", "alice"]);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(again.stderr.includes(now));
});

Deno.test("join: a pinned server that stops speaking TLS is never joined in clear text", async () => {
  const config = tempDir("chat-cfg-");
  const data = tempDir("chat-data-");
  const [port, tlsPort] = [freePort(), freePort()];
  {
    await using _server = await serverAt(port, tlsPort, data);
    const run = await join(config, [`${HOST}:${port}`, "--name", "alice"]);
    assert.equal(run.code, 0, run.stderr);
  }
  {
    // The plain port typed answers, its TLS port does not: no fallback to the plain port.
    await using plainOnly = await serverAt(port, tlsPort, data, { tls: false });
    const refused = await join(config, [`${HOST}:${port}`, "--name", "alice"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Refusing to fall back to an unencrypted chat/);
    assert.ok(refused.stderr.includes(`chat join ${HOST}:${port} --forget`), refused.stderr);
    assert.equal(plainOnly.server.chat.size, 0);
  }
  // The pinned TLS port itself now speaks plain TCP (someone else's server, say).
  await using other = await serverAt(tlsPort, freePort(), tempDir("chat-data-"), { tls: false });
  const refused = await join(config, [`${HOST}:${tlsPort}`, "--name", "alice"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not speak TLS now/);
  assert.equal(other.server.chat.size, 0);
});

Deno.test("join: --fingerprint pins up front; a wrong one is refused", async () => {
  await using server = await startTestServer();
  const target = `${HOST}:${server.server.tlsPort}`;
  const wrong = "SHA256:" + "A".repeat(43);
  const refused = await join(tempDir("chat-cfg-"), [target, "--fingerprint", wrong]);
  assert.equal(refused.code, 1);
  assert.ok(refused.stderr.includes("--fingerprint says " + wrong), refused.stderr);
  const right = await join(tempDir("chat-cfg-"), [target, "--fingerprint", fingerprintOf(server)]);
  assert.equal(right.code, 0, right.stderr);
  assert.ok(!right.stderr.includes("First contact"), right.stderr);
});

Deno.test("join: --plain and servers without TLS are marked not encrypted", async () => {
  await using server = await startTestServer();
  const plain = await join(tempDir("chat-cfg-"), [`${HOST}:${server.port}`, "--plain"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /^Not encrypted \(--plain\)/m);
  await using noTls = await startTestServer({ tls: false });
  const run = await join(tempDir("chat-cfg-"), [`${HOST}:${noTls.port}`]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /^Not encrypted: 127\.0\.0\.1:\d+ does not speak TLS/m);
  assert.match(run.stdout, /tester: hi/);
});

Deno.test("join: a corrupt or world-writable known_servers is reported and not trusted", async () => {
  await using server = await startTestServer();
  const config = tempDir("chat-cfg-");
  Deno.mkdirSync(`${config}/chat`, { recursive: true });
  const path = `${config}/chat/known_servers`;
  Deno.writeTextFileSync(path, "this is not a pin\n", { mode: 0o600 });
  const corrupt = await join(config, [`${HOST}:${server.port}`]);
  assert.equal(corrupt.code, 1);
  assert.ok(corrupt.stderr.includes(`${path} line 1`), corrupt.stderr);
  Deno.writeTextFileSync(path, "", { mode: 0o600 });
  Deno.chmodSync(path, 0o666);
  const open = await join(config, [`${HOST}:${server.port}`]);
  assert.equal(open.code, 1);
  assert.ok(open.stderr.includes("writable by others"), open.stderr);
  assert.equal(server.server.chat.size, 0);
  assert.ok(!server.logLines.some((l) => / connect /.test(l)), "it did not even connect");
});

Deno.test("join: the identity owns the name, and a second identity is refused it", async () => {
  await using server = await startTestServer();
  const owner = tempDir("chat-cfg-");
  const first = await join(owner, [`${HOST}:${server.port}`, "--name", "alice"]);
  assert.equal(first.code, 0, first.stderr);
  const identity = Deno.statSync(`${owner}/chat/identity`);
  assert.equal(identity.mode! & 0o777, 0o600);
  const other = await join(tempDir("chat-cfg-"), [`${HOST}:${server.port}`, "--name", "alice"]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /belongs to another identity/);
  const again = await join(owner, [`${HOST}:${server.port}`, "--name", "ALICE"]);
  assert.equal(again.code, 0, again.stderr);
});
