/**
 * TLS and identities over real sockets: the TLS port, `use_tls`, the challenge, owned names, and
 * the bad input and attacks of issue 14 (each a test).
 */

import assert from "node:assert/strict";
import { newIdentity } from "../client/identity.ts";
import { encodeBase64Url } from "../protocol/fingerprint.ts";
import {
  delay,
  joinJson,
  joinLine,
  runChat,
  ServeProcess,
  startTestServer,
  type TestServer,
  waitUntil,
  WireClient,
  type WireEvent,
} from "./support/net.ts";
import { tempDir } from "./support/temp.ts";

function certOf(server: TestServer): string {
  const certificate = server.server.certificate;
  assert.ok(certificate !== undefined, "the test server has TLS");
  return certificate.certPem;
}

function tlsPortOf(server: TestServer): number {
  const port = server.server.tlsPort;
  assert.ok(port !== undefined, "the test server has a TLS port");
  return port;
}

/** Connects over TLS trusting the server's own certificate. */
function connectTls(server: TestServer): Promise<WireClient> {
  return WireClient.connect(tlsPortOf(server), { tlsCert: certOf(server) });
}

/** Sends hello with a key and answers the challenge; returns the welcome (or the error). */
async function joinWithKey(
  client: WireClient,
  name: string,
  identity: Awaited<ReturnType<typeof newIdentity>>,
): Promise<WireEvent> {
  await client.sendJson({ type: "hello", name, protocol: 1, key: identity.publicKey });
  const challenge = await client.nextEvent();
  if (challenge.type !== "challenge") return challenge;
  assert.equal(typeof challenge.nonce, "string");
  const signature = await identity.sign(challenge.nonce as string, name);
  await client.sendJson({ type: "auth", signature });
  return await client.nextEvent();
}

Deno.test("tls: a JSON client joins over TLS and welcome names the certificate", async () => {
  await using server = await startTestServer();
  const client = await connectTls(server);
  try {
    await client.sendJson({ type: "hello", name: "alice", protocol: 1 });
    const welcome = await client.nextEvent();
    assert.equal(welcome.type, "welcome");
    assert.equal(welcome.tls, server.server.certificate?.fingerprint);
    assert.deepEqual(welcome.features, ["rooms", "identity", "tls", "presence", "resume"]);
    // A plain member and an encrypted one share the room.
    const bob = await joinJson(server.port, "bob");
    try {
      await client.sendJson({ type: "say", text: "over tls" });
      const message = await bob.client.waitForEvent("message");
      assert.equal(message.text, "over tls");
    } finally {
      await bob.client.close();
    }
  } finally {
    await client.close();
  }
});

Deno.test("tls: hello.tls on the plain port is answered with use_tls and the TLS port", async () => {
  await using server = await startTestServer();
  const client = await WireClient.connect(server.port);
  try {
    await client.sendJson({ type: "hello", name: "alice", protocol: 1, tls: true });
    const error = await client.nextEvent();
    assert.equal(error.type, "error");
    assert.equal(error.code, "use_tls");
    assert.equal(error.tlsPort, tlsPortOf(server));
    await client.waitClosed();
    assert.equal(server.server.chat.size, 0, "nobody joined in clear text");
  } finally {
    await client.close();
  }
});

Deno.test("tls: a server without TLS ignores hello.tls and says it has no TLS", async () => {
  await using server = await startTestServer({ tls: false });
  assert.equal(server.server.tlsPort, undefined);
  const { client, welcome } = await joinJson(server.port, "alice", { hello: { tls: true } });
  try {
    assert.equal(welcome.tls, undefined);
    assert.deepEqual(welcome.features, ["rooms", "identity", "presence", "resume"]);
  } finally {
    await client.close();
  }
});

Deno.test("tls: TLS sent to the plain port is answered and closed at once, others unharmed", async () => {
  await using server = await startTestServer();
  const member = await joinJson(server.port, "member");
  try {
    const started = Date.now();
    // A real TLS client (Deno's) against the plain port: its handshake must fail fast.
    await assert.rejects(async () => {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [certOf(server)],
      });
      try {
        await conn.handshake();
      } finally {
        conn.close();
      }
    });
    assert.ok(Date.now() - started < 3000, "no wait for a deadline");
    // The bytes a person would see: one frame64 error naming the TLS port.
    const raw = await WireClient.connect(server.port);
    await raw.send(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    const error = await raw.nextEvent();
    assert.equal(error.code, "use_tls");
    assert.equal(error.tlsPort, tlsPortOf(server));
    await raw.waitClosed();
    await member.client.sendJson({ type: "say", text: "still here" });
    assert.equal((await member.client.waitForEvent("message")).text, "still here");
  } finally {
    await member.client.close();
  }
});

Deno.test("tls: plaintext sent to the TLS port is closed, and the server keeps serving", async () => {
  await using server = await startTestServer();
  for (const bytes of ["alice\n", `${"12".padEnd(64)}{"type":"x"}`]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: tlsPortOf(server) });
    try {
      await conn.write(new TextEncoder().encode(bytes));
      const buffer = new Uint8Array(4096);
      // Whatever the TLS layer answers (an alert), the connection ends; a bounded wait.
      const ended = await Promise.race([
        (async () => {
          for (;;) {
            try {
              if (await conn.read(buffer) === null) return true;
            } catch {
              return true;
            }
          }
        })(),
        delay(5000).then(() => false),
      ]);
      assert.ok(ended, "the TLS port closed a plaintext connection");
    } finally {
      conn.close();
    }
  }
  const client = await connectTls(server);
  try {
    await client.sendJson({ type: "hello", name: "after", protocol: 1 });
    assert.equal((await client.nextEvent()).type, "welcome");
  } finally {
    await client.close();
  }
});

Deno.test("tls: a client stalling mid-handshake is dropped at the handshake deadline", async () => {
  await using server = await startTestServer({ handshakeTimeout: 0.5 });
  const staller = await Deno.connect({ hostname: "127.0.0.1", port: tlsPortOf(server) });
  try {
    // The first bytes of a ClientHello record, then nothing.
    await staller.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
    await waitUntil(() => server.server.connections === 1, "the staller's session");
    // Others are not held up meanwhile.
    const client = await connectTls(server);
    await client.sendJson({ type: "hello", name: "quick", protocol: 1 });
    assert.equal((await client.nextEvent()).type, "welcome");
    await client.close();
    // Its session ends at the deadline (plus the close's linger, at most 2 s).
    await waitUntil(() => server.server.connections === 0, "the staller's session to end", 5000);
    assert.ok(server.logLines.some((line) => / disconnect .*reason=timeout/.test(line)));
    // Deno cannot close a socket whose TLS handshake waits for the peer, so it stays counted
    // (against its address and the connection limit) until the peer's next move releases it.
    assert.equal(server.server.lingeringTls, 1);
    // The rest of the announced 512-byte record (garbage): the handshake fails, the socket goes.
    await staller.write(new Uint8Array(600));
    await waitUntil(() => server.server.lingeringTls === 0, "the stalled socket to be released");
    const buffer = new Uint8Array(1024);
    const ended = await Promise.race([
      (async () => {
        for (;;) {
          try {
            if (await staller.read(buffer) === null) return true;
          } catch {
            return true;
          }
        }
      })(),
      delay(3000).then(() => false),
    ]);
    assert.ok(ended, "the server closed the stalled connection");
  } finally {
    staller.close();
  }
});

Deno.test("tls: a stalled socket still open counts against the connection limit", async () => {
  await using server = await startTestServer({ handshakeTimeout: 0.5, maxClients: 1 });
  const staller = await Deno.connect({ hostname: "127.0.0.1", port: tlsPortOf(server) });
  try {
    await staller.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
    await waitUntil(() => server.server.lingeringTls === 1, "the session to end, its socket not");
    const refused = await WireClient.connect(server.port);
    await refused.sendJson({ type: "hello", name: "late", protocol: 1 });
    assert.equal((await refused.nextEvent()).code, "server_full");
    await refused.close();
  } finally {
    staller.close();
  }
  await waitUntil(() => server.server.lingeringTls === 0, "the socket to be released");
  const { client } = await joinJson(server.port, "now");
  await client.close();
});

Deno.test("identity: a key proves itself, welcome carries its fingerprint, who and whois show it", async () => {
  await using server = await startTestServer();
  const identity = await newIdentity();
  const client = await connectTls(server);
  const plain = await joinJson(server.port, "bob");
  try {
    const welcome = await joinWithKey(client, "alice", identity);
    assert.equal(welcome.type, "welcome");
    assert.equal(welcome.fingerprint, identity.fingerprint);
    await plain.client.sendJson({ type: "who" });
    const who = await plain.client.waitForEvent("who");
    assert.deepEqual(who.fingerprints, { alice: identity.fingerprint });
    await plain.client.sendJson({ type: "whois", name: "ALICE" });
    const whois = await plain.client.waitForEvent("whois");
    assert.deepEqual(whois, { type: "whois", name: "alice", fingerprint: identity.fingerprint });
    await plain.client.sendJson({ type: "whois", name: "bob" });
    assert.deepEqual(await plain.client.waitForEvent("whois"), { type: "whois", name: "bob" });
    await plain.client.sendJson({ type: "whois", name: "nobody" });
    assert.equal((await plain.client.waitForEvent("error")).code, "no_such_user");
  } finally {
    await client.close();
    await plain.client.close();
  }
});

Deno.test("identity: a text client's /whois shows the fingerprint", async () => {
  await using server = await startTestServer();
  const identity = await newIdentity();
  const client = await WireClient.connect(server.port);
  const line = await joinLine(server.port, "carol");
  try {
    assert.equal((await joinWithKey(client, "alice", identity)).type, "welcome");
    await line.sendLine("/whois alice");
    await line.waitFor(
      (text) => text === `* alice is identity ${identity.fingerprint}`,
      "the whois line",
    );
  } finally {
    await client.close();
    await line.close();
  }
});

Deno.test("identity: a wrong signature is bad_auth and closes the connection", async () => {
  await using server = await startTestServer();
  const identity = await newIdentity();
  const other = await newIdentity();
  const client = await WireClient.connect(server.port);
  try {
    await client.sendJson({ type: "hello", name: "alice", protocol: 1, key: identity.publicKey });
    const challenge = await client.nextEvent();
    assert.equal(challenge.type, "challenge");
    // Signed by another key, then for another name: both are refused.
    await client.sendJson({
      type: "auth",
      signature: await other.sign(challenge.nonce as string, "alice"),
    });
    const error = await client.nextEvent();
    assert.equal(error.code, "bad_auth");
    await client.waitClosed();
    const second = await WireClient.connect(server.port);
    await second.sendJson({ type: "hello", name: "alice", protocol: 1, key: identity.publicKey });
    const again = await second.nextEvent();
    await second.sendJson({
      type: "auth",
      signature: await identity.sign(again.nonce as string, "mallory"),
    });
    assert.equal((await second.nextEvent()).code, "bad_auth");
    await second.waitClosed();
    // Garbage that is not even a signature.
    const third = await WireClient.connect(server.port);
    await third.sendJson({ type: "hello", name: "alice", protocol: 1, key: identity.publicKey });
    await third.nextEvent();
    await third.sendJson({ type: "auth", signature: "not-a-signature" });
    assert.equal((await third.nextEvent()).code, "bad_auth");
    await third.waitClosed();
    assert.equal(server.server.chat.size, 0);
  } finally {
    await client.close();
  }
});

Deno.test("identity: a replayed challenge answer does not let anyone in", async () => {
  await using server = await startTestServer();
  const identity = await newIdentity();
  const victim = await WireClient.connect(server.port);
  const attacker = await WireClient.connect(server.port);
  try {
    // The attacker saw the victim's key and a valid answer to the victim's challenge.
    await victim.sendJson({ type: "hello", name: "alice", protocol: 1, key: identity.publicKey });
    const nonce = (await victim.nextEvent()).nonce as string;
    const signature = await identity.sign(nonce, "alice");
    await victim.sendJson({ type: "auth", signature });
    assert.equal((await victim.nextEvent()).type, "welcome");
    await victim.close();
    await attacker.sendJson({ type: "hello", name: "alice", protocol: 1, key: identity.publicKey });
    const fresh = await attacker.nextEvent();
    assert.equal(fresh.type, "challenge");
    assert.notEqual(fresh.nonce, nonce, "every challenge is new");
    await attacker.sendJson({ type: "auth", signature });
    assert.equal((await attacker.nextEvent()).code, "bad_auth");
    await attacker.waitClosed();
  } finally {
    await victim.close();
    await attacker.close();
  }
});

Deno.test("identity: a second auth on the same connection finds no challenge waiting", async () => {
  await using server = await startTestServer();
  const identity = await newIdentity();
  const client = await WireClient.connect(server.port);
  try {
    await client.sendJson({ type: "hello", name: "alice", protocol: 1, key: identity.publicKey });
    const nonce = (await client.nextEvent()).nonce as string;
    const signature = await identity.sign(nonce, "alice");
    await client.sendJson({ type: "auth", signature });
    assert.equal((await client.nextEvent()).type, "welcome");
    await client.sendJson({ type: "auth", signature });
    assert.equal((await client.nextEvent()).code, "already_joined");
  } finally {
    await client.close();
  }
});

Deno.test("identity: keys of the wrong length or not base64url are bad_key", async () => {
  await using server = await startTestServer();
  let tries = 0;
  for (
    const key of [
      encodeBase64Url(new Uint8Array(31)),
      encodeBase64Url(new Uint8Array(33)),
      "A".repeat(42) + "=",
      "AAAA+AAA/AAA" + "A".repeat(31),
      "A".repeat(42) + "B", // Unused low bits set: not the canonical spelling of any key.
      "",
    ]
  ) {
    const client = await WireClient.connect(server.port);
    try {
      await client.sendJson({ type: "hello", name: "alice", protocol: 1, key });
      const error = await client.nextEvent();
      assert.equal(error.code, "bad_key", key);
      // Still open: the client may say hello again, without the key.
      await client.sendJson({ type: "hello", name: `keyless${++tries}`, protocol: 1 });
      assert.equal((await client.nextEvent()).type, "welcome");
    } finally {
      await client.close();
    }
  }
  // The error budget closes a connection that keeps sending bad keys, as for any bad event.
  const stubborn = await WireClient.connect(server.port);
  try {
    for (let i = 0; i < 4; i++) {
      await stubborn.sendJson({ type: "hello", name: "a", protocol: 1, key: "x" });
    }
    await stubborn.waitClosed();
  } finally {
    await stubborn.close();
  }
});

Deno.test("identity: auth without hello is not_joined", async () => {
  await using server = await startTestServer();
  const client = await WireClient.connect(server.port);
  try {
    await client.sendJson({ type: "auth", signature: "A".repeat(86) });
    const error = await client.nextEvent();
    assert.equal(error.code, "not_joined");
    // The connection may still join properly afterwards.
    await client.sendJson({ type: "hello", name: "alice", protocol: 1 });
    assert.equal((await client.nextEvent()).type, "welcome");
  } finally {
    await client.close();
  }
});

Deno.test("identity: an owned name is refused to other keys, keyless and text clients, and /nick", async () => {
  await using server = await startTestServer();
  const owner = await newIdentity();
  const other = await newIdentity();
  const first = await WireClient.connect(server.port);
  assert.equal((await joinWithKey(first, "Alice", owner)).type, "welcome");
  await first.close();
  await delay(50);
  const clients: WireClient[] = [];
  try {
    const thief = await WireClient.connect(server.port);
    clients.push(thief);
    const refused = await joinWithKey(thief, "alice", other);
    assert.equal(refused.code, "name_owned");
    assert.match(String(refused.message), new RegExp(owner.fingerprint.replace(/[+/]/g, "\\$&")));
    // The same connection may try another name, which its key then owns.
    assert.equal((await joinWithKey(thief, "mallory", other)).type, "welcome");
    // A renamed member cannot take it either.
    await thief.sendJson({ type: "nick", name: "ALICE" });
    assert.equal((await thief.waitForEvent("error")).code, "name_owned");

    const keyless = await WireClient.connect(server.port);
    clients.push(keyless);
    await keyless.sendJson({ type: "hello", name: "alice", protocol: 1 });
    assert.equal((await keyless.nextEvent()).code, "name_owned");

    const line = await joinLine(server.port, "alice");
    clients.push(line);
    assert.match(await line.next(), /^! name_owned: /);
    assert.equal(await line.next(), "name?");

    // A keyless member cannot /nick to it.
    await line.sendLine("carol");
    await line.waitFor((text) => text.startsWith("* welcome"), "the welcome");
    await line.sendLine("/nick alice");
    await line.waitFor((text) => text.startsWith("! name_owned: "), "name_owned for /nick");

    // The owner comes back with the key and gets it.
    const back = await WireClient.connect(server.port);
    clients.push(back);
    const welcome = await joinWithKey(back, "alice", owner);
    assert.equal(welcome.type, "welcome");
    assert.equal(welcome.name, "alice");
  } finally {
    for (const client of clients) await client.close();
  }
});

Deno.test("identity: a name unused for --name-days is free again", async () => {
  // 0.00002 days is under two seconds.
  await using server = await startTestServer({ nameDays: 0.00002 });
  const owner = await newIdentity();
  const first = await WireClient.connect(server.port);
  assert.equal((await joinWithKey(first, "alice", owner)).type, "welcome");
  await first.close();
  const keyless = await WireClient.connect(server.port);
  try {
    await keyless.sendJson({ type: "hello", name: "alice", protocol: 1 });
    assert.equal((await keyless.nextEvent()).code, "name_owned");
    await delay(2000);
    await keyless.sendJson({ type: "hello", name: "alice", protocol: 1 });
    assert.equal((await keyless.nextEvent()).type, "welcome");
  } finally {
    await keyless.close();
  }
});

Deno.test("serve process: the data dir keeps the certificate across restarts, and is locked", async () => {
  const data = tempDir("chat-data-");
  const fingerprintIn = (stdout: string) => /certificate (SHA256:\S+)/.exec(stdout)?.[1];
  let first: string | undefined;
  {
    await using server = await ServeProcess.start(["--data", data]);
    first = fingerprintIn(server.stdout);
    assert.ok(first !== undefined, server.stdout);
    // A second server on the same data dir is refused, naming the file.
    const second = await runChat(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /chat serve: The database .*chat\.db is in use by another chat server/,
    );
    assert.equal(Deno.statSync(`${data}/chat.db`).mode! & 0o777, 0o600);
  }
  await using again = await ServeProcess.start(["--data", data]);
  assert.equal(fingerprintIn(again.stdout), first);
});

Deno.test("serve process: a corrupt database stops the server at start, naming the file", async () => {
  const data = tempDir("chat-data-");
  Deno.writeTextFileSync(`${data}/chat.db`, "not a database at all ".repeat(300));
  const run = await runChat(["serve", "--host", "127.0.0.1", "--port", "0", "--data", data]);
  assert.equal(run.code, 1);
  assert.ok(run.stderr.includes(`${data}/chat.db`), run.stderr);
  assert.match(run.stderr, /corrupt/);
  assert.equal(run.stdout, "", "no banner: it never started");
});

Deno.test("identity: a guest is never given a name an identity owns", async () => {
  await using server = await startTestServer();
  const owner = await newIdentity();
  const first = await WireClient.connect(server.port);
  assert.equal((await joinWithKey(first, "guest-1", owner)).type, "welcome");
  await first.close();
  await waitUntil(() => server.server.chat.size === 0, "the owner to leave");
  // A classic client whose first body is not a name chats as a guest.
  const guest = await WireClient.connect(server.port);
  try {
    await guest.sendFrame("Hello World!");
    const notice = await guest.waitFor((text) => text.includes("you are guest-"), "the guest name");
    assert.ok(!notice.includes("guest-1;"), notice);
  } finally {
    await guest.close();
  }
});
