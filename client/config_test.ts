import assert from "node:assert/strict";
import { UsageError } from "../flags/usage_error.ts";
import { JOIN_FLAGS, JOIN_HELP, JOIN_USAGE, parseHostPort, parseJoinArgs } from "./config.ts";

function mistake(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
    return error.message;
  }
  assert.fail("No error");
}

Deno.test("parseHostPort reads each address form", () => {
  assert.deepEqual(parseHostPort("example.org"), { host: "example.org" });
  assert.deepEqual(parseHostPort("10.0.0.2:6000"), { host: "10.0.0.2", port: 6000 });
  assert.deepEqual(parseHostPort("[::1]:5050"), { host: "::1", port: 5050 });
  assert.deepEqual(parseHostPort("[::1]"), { host: "::1" });
  assert.deepEqual(parseHostPort("::1"), { host: "::1" });
  assert.deepEqual(parseHostPort("fe80::1%eth0"), { host: "fe80::1%eth0" });
  assert.deepEqual(parseHostPort("[fe80::1%eth0]:1"), { host: "fe80::1%eth0", port: 1 });
  assert.deepEqual(parseHostPort("localhost:65535"), { host: "localhost", port: 65535 });
});

Deno.test("parseHostPort refuses malformed addresses", () => {
  const cases: Record<string, string> = {
    "": 'The address must be HOST or HOST:PORT, with HOST a host name or an IP address: ""',
    ":5050":
      'The address must be HOST or HOST:PORT, with HOST a host name or an IP address: ":5050"',
    "a b": 'The address must be HOST or HOST:PORT, with HOST a host name or an IP address: "a b"',
    "host:": 'The address has a ":" but no port after it: "host:"',
    "[::1]:": 'The address has a ":" but no port after it: "[::1]:"',
    "[::1": 'The address is missing its closing "]": "[::1"',
    "[::1]x": 'Only ":PORT" may follow the "]" of an address: "[::1]x"',
    "[example.org]:1": 'The address in brackets must be an IPv6 address: "[example.org]:1"',
    "[]": 'The address in brackets must be an IPv6 address: "[]"',
    "host:0": 'The port of the address must be a whole number from 1 to 65535: "host:0"',
    "host:65536": 'The port of the address must be a whole number from 1 to 65535: "host:65536"',
    "host:http": 'The port of the address must be a whole number from 1 to 65535: "host:http"',
    "[::1]:-1": 'The port of the address must be a whole number from 1 to 65535: "[::1]:-1"',
  };
  for (const [text, message] of Object.entries(cases)) {
    assert.equal(mistake(() => parseHostPort(text)), message, text);
  }
});

Deno.test("parseJoinArgs gives the documented defaults", () => {
  assert.deepEqual(parseJoinArgs([], {}), {
    host: "localhost",
    port: 5050,
    json: false,
    color: true,
    reconnect: true,
    plain: false,
    forget: false,
  });
});

Deno.test("parseJoinArgs reads the address and every flag", () => {
  assert.deepEqual(
    parseJoinArgs(["[::1]:6000", "--name", "alice", "--json", "--no-color", "--no-reconnect"], {}),
    {
      host: "::1",
      port: 6000,
      name: "alice",
      json: true,
      color: false,
      reconnect: false,
      plain: false,
      forget: false,
    },
  );
  const pin = "SHA256:" + "A".repeat(43);
  assert.deepEqual(parseJoinArgs(["h:6001", "--fingerprint", pin, "--forget"], {}), {
    host: "h",
    port: 6001,
    json: false,
    color: true,
    reconnect: true,
    plain: false,
    fingerprint: pin,
    forget: true,
  });
  assert.equal(parseJoinArgs(["--plain"], {}).plain, true);
  assert.deepEqual(parseJoinArgs(["-n", "bob", "-p", "7000", "example.org"], {}), {
    host: "example.org",
    port: 7000,
    name: "bob",
    json: false,
    color: true,
    reconnect: true,
    plain: false,
    forget: false,
  });
  assert.equal(parseJoinArgs(["::1", "--port", "6001"], {}).port, 6001);
});

Deno.test("parseJoinArgs refuses a malformed --fingerprint and --fingerprint with --plain", () => {
  assert.match(
    mistake(() => parseJoinArgs(["--fingerprint", "AB:CD"], {})),
    /--fingerprint value must be SHA256:/,
  );
  assert.match(
    mistake(() => parseJoinArgs(["--plain", "--fingerprint", "SHA256:" + "A".repeat(43)], {})),
    /--plain connects without TLS/,
  );
});

Deno.test("parseJoinArgs accepts a --port that agrees with the address", () => {
  assert.equal(parseJoinArgs(["h:6000", "--port", "6000"], {}).port, 6000);
});

Deno.test("parseJoinArgs refuses a --port that disagrees with the address", () => {
  assert.equal(
    mistake(() => parseJoinArgs(["10.0.0.2:6000", "--port", "6001"], {})),
    'The port in the address disagrees with --port: "6000" versus "6001"',
  );
});

Deno.test("parseJoinArgs turns colours off only for a non-empty NO_COLOR", () => {
  assert.equal(parseJoinArgs([], { NO_COLOR: "1" }).color, false);
  assert.equal(parseJoinArgs([], { NO_COLOR: "" }).color, true);
  assert.equal(parseJoinArgs([], { NO_COLOR: undefined }).color, true);
});

Deno.test("parseJoinArgs refuses extra arguments, bad ports and blank names", () => {
  assert.equal(mistake(() => parseJoinArgs(["a", "b"], {})), 'Unexpected extra argument: "b"');
  assert.equal(
    mistake(() => parseJoinArgs(["--port", "0"], {})),
    'The --port value must be a whole number from 1 to 65535: "0"',
  );
  assert.equal(
    mistake(() => parseJoinArgs(["--name", "  "], {})),
    'The --name value must not be blank: "  "',
  );
  assert.equal(mistake(() => parseJoinArgs(["--color"], {})), 'Unknown option: "--color"');
  assert.equal(mistake(() => parseJoinArgs(["-n"], {})), "The --name option needs a value");
});

Deno.test("JOIN_HELP lists every flag with its default", () => {
  assert.ok(JOIN_HELP.includes(JOIN_USAGE));
  for (const flag of JOIN_FLAGS) {
    assert.match(JOIN_HELP, new RegExp(`--${flag}\\b`), flag);
  }
  const optionBlocks = JOIN_HELP.split("\n  -").slice(1);
  assert.equal(optionBlocks.length, JOIN_FLAGS.length + 1); // and --help
  for (const block of optionBlocks) {
    if (block.startsWith("h, --help")) continue;
    assert.match(block, /\(default: [^)]+\)/, block);
  }
});

Deno.test("parseJoinArgs reads the servers of a cluster, each with its port or the common one", () => {
  const config = parseJoinArgs(["node1,10.0.0.2:6000,[::1]", "-p", "5060"], {});
  assert.equal(config.host, "node1");
  assert.equal(config.port, 5060);
  assert.deepEqual(config.servers, [
    { host: "node1", port: 5060 },
    { host: "10.0.0.2", port: 6000 },
    { host: "::1", port: 5060 },
  ]);
  assert.equal(parseJoinArgs(["node1"], {}).servers, undefined, "one server: no list");
  assert.throws(() => parseJoinArgs(["node1,,node2"], {}), UsageError);
});
