import assert from "node:assert/strict";
import { addressKey, KnownServers, KnownServersError } from "./known_servers.ts";
import { tempDir } from "../tests/support/temp.ts";

const PIN_A = "SHA256:" + "A".repeat(43);
const PIN_B = "SHA256:" + "B".repeat(43);

function tempFile(): string {
  return `${tempDir("chat-known-")}/chat/known_servers`;
}

Deno.test("KnownServers pins, finds and forgets addresses, writing the file 0600", () => {
  const path = tempFile();
  const known = KnownServers.load(path);
  assert.equal(known.lookup("example.org", 5051), undefined);
  known.pin({ address: addressKey("Example.org", 5051), fingerprint: PIN_A });
  known.pin({ address: addressKey("example.org", 5050), fingerprint: PIN_A, tlsPort: 5051 });
  known.pin({ address: addressKey("::1", 5051), fingerprint: PIN_B });
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  const again = KnownServers.load(path);
  assert.deepEqual(again.lookup("EXAMPLE.ORG", 5051), {
    address: "example.org:5051",
    fingerprint: PIN_A,
  });
  assert.equal(again.lookup("example.org", 5050)?.tlsPort, 5051);
  assert.equal(again.lookup("::1", 5051)?.fingerprint, PIN_B);
  // Forgetting the TLS port forgets the plain port that leads there too.
  assert.deepEqual(again.forget("example.org", 5051).sort(), [
    "example.org:5050",
    "example.org:5051",
  ]);
  assert.equal(KnownServers.load(path).lookup("example.org", 5050), undefined);
  assert.equal(KnownServers.load(path).lookup("::1", 5051)?.fingerprint, PIN_B);
  // Forgetting the plain port forgets the TLS port it leads to.
  const known2 = KnownServers.load(path);
  known2.pin({ address: "h:5051", fingerprint: PIN_A });
  known2.pin({ address: "h:5050", fingerprint: PIN_A, tlsPort: 5051 });
  known2.pin({ address: "h:6000", fingerprint: PIN_B });
  assert.deepEqual(known2.forget("h", 5050).sort(), ["h:5050", "h:5051"]);
  assert.equal(KnownServers.load(path).lookup("h", 6000)?.fingerprint, PIN_B);
});

Deno.test("KnownServers refuses a file others can write, naming it and the fix", () => {
  const path = tempFile();
  KnownServers.load(path).pin({ address: "h:1", fingerprint: PIN_A });
  Deno.chmodSync(path, 0o666);
  assert.throws(
    () => KnownServers.load(path),
    (error: unknown) =>
      error instanceof KnownServersError && error.message.includes(path) &&
      error.message.includes("writable by others") && error.message.includes("chmod 600"),
  );
  Deno.chmodSync(path, 0o620);
  assert.throws(() => KnownServers.load(path), KnownServersError);
});

Deno.test("KnownServers refuses a corrupt file, naming the line", () => {
  for (
    const bad of [
      "h:1 not-a-fingerprint",
      "h:1",
      `h ${PIN_A}`,
      `h:1 ${PIN_A} tls=abc`,
      `h:1 ${PIN_A} tls=70000`,
      `h:1 ${PIN_A} tls=5 extra`,
      "\u0000\u0001binary",
    ]
  ) {
    const path = tempFile();
    KnownServers.load(path).pin({ address: "ok:1", fingerprint: PIN_A });
    Deno.writeTextFileSync(path, `# comment\nok:1 ${PIN_A}\n${bad}\n`, { mode: 0o600 });
    assert.throws(
      () => KnownServers.load(path),
      (error: unknown) =>
        error instanceof KnownServersError && error.message.includes(`${path} line 3`),
      bad,
    );
  }
});
