import assert from "node:assert/strict";
import { UsageError } from "../flags/usage_error.ts";
import {
  DEFAULT_SERVE_CONFIG,
  defaultServerName,
  parseServeArgs,
  SERVE_FLAGS,
  SERVE_HELP,
  SERVE_USAGE,
} from "./config.ts";
import { defaultDataDir } from "../store/database.ts";

function mistake(args: string[]): string {
  try {
    parseServeArgs(args);
  } catch (error) {
    assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
    return error.message;
  }
  assert.fail(`No error for ${JSON.stringify(args)}`);
}

Deno.test("parseServeArgs gives the documented defaults", () => {
  const config = parseServeArgs([]);
  assert.deepEqual(config, {
    ...DEFAULT_SERVE_CONFIG,
    serverName: defaultServerName(),
    data: defaultDataDir(5050),
  });
  assert.equal(config.tls, true);
  assert.equal(config.tlsPort, undefined);
  assert.equal(config.nameDays, 90);
  assert.equal(config.host, "::");
  assert.equal(config.port, 5050);
  assert.equal(config.history, 50);
  assert.equal(config.log, "text");
  assert.equal(config.maxMessageBytes, 4096);
  assert.equal(config.maxClients, 10000);
  assert.equal(config.maxPerIp, 32);
  assert.equal(config.handshakeTimeout, 10);
  assert.equal(config.frameTimeout, 30);
  assert.equal(config.pingInterval, 30);
  assert.equal(config.idleTimeout, 75);
  assert.equal(config.rateBurst, 10);
  assert.equal(config.ratePerSecond, 5);
  assert.equal(config.sendQueueBytes, 1048576);
  assert.equal(config.writeTimeout, 10);
  assert.equal(config.quiet, false);
  assert.equal(config.logMessages, false);
  assert.ok(!("motd" in config));
});

Deno.test("parseServeArgs reads every flag", () => {
  const config = parseServeArgs([
    "--host=127.0.0.1",
    "-p",
    "0",
    "--history",
    "0",
    "--max-rooms",
    "3",
    "--summary-members",
    "7",
    "--motd",
    "Be kind",
    "--server-name",
    "hub",
    "--log",
    "json",
    "--quiet",
    "--log-messages",
    "--max-message-bytes",
    "64",
    "--max-clients",
    "1",
    "--max-per-ip",
    "0",
    "--handshake-timeout",
    "0.5",
    "--frame-timeout",
    "2",
    "--ping-interval",
    "1.5",
    "--idle-timeout",
    "1.75",
    "--rate-burst",
    "1",
    "--rate-per-second",
    "0",
    "--send-queue-bytes",
    "1024",
    "--write-timeout",
    "3",
    "--data",
    ":memory:",
    "--tls-port",
    "7001",
    "--tls-cert",
    "c.pem",
    "--tls-key",
    "k.pem",
    "--name-days",
    "7",
    "--keep-days",
    "3",
    "--keep-messages",
    "500",
    "--raw-pause",
    "0.25",
    "--greet-after",
    "0",
    "--redis",
    "redis://10.0.0.5:6380/2",
    "--cluster",
    "team.chat",
    "--node-timeout",
    "2.5",
  ]);
  assert.deepEqual(config, {
    host: "127.0.0.1",
    port: 0,
    history: 0,
    maxRooms: 3,
    summaryMembers: 7,
    motd: "Be kind",
    serverName: "hub",
    log: "json",
    quiet: true,
    logMessages: true,
    maxMessageBytes: 64,
    maxClients: 1,
    maxPerIp: 0,
    handshakeTimeout: 0.5,
    frameTimeout: 2,
    pingInterval: 1.5,
    idleTimeout: 1.75,
    rateBurst: 1,
    ratePerSecond: 0,
    sendQueueBytes: 1024,
    writeTimeout: 3,
    rawPause: 0.25,
    greetAfter: 0,
    data: ":memory:",
    tls: true,
    tlsPort: 7001,
    tlsCert: "c.pem",
    tlsKey: "k.pem",
    nameDays: 7,
    keepDays: 3,
    keepMessages: 500,
    redis: "redis://10.0.0.5:6380/2",
    cluster: "team.chat",
    nodeTimeout: 2.5,
  });
});

Deno.test("parseServeArgs takes CHAT_REDIS_URL when --redis is absent, and checks both", () => {
  assert.equal(parseServeArgs([], { CHAT_REDIS_URL: "redis://h:1" }).redis, "redis://h:1");
  assert.equal(
    parseServeArgs(["--redis", "redis://a:1"], { CHAT_REDIS_URL: "redis://b:2" }).redis,
    "redis://a:1",
  );
  assert.ok(!("redis" in parseServeArgs([], { CHAT_REDIS_URL: "" })));
  assert.throws(
    () => parseServeArgs([], { CHAT_REDIS_URL: "h:1" }),
    /The CHAT_REDIS_URL value must look like redis:\/\/HOST:PORT/,
  );
  assert.throws(() => parseServeArgs(["--cluster", "a b"]), /--cluster value must be/);
  assert.throws(() => parseServeArgs(["--node-timeout", "0.1"]), /--node-timeout/);
});

Deno.test("parseServeArgs keeps one data dir per port under XDG_DATA_HOME", () => {
  const previous = Deno.env.get("XDG_DATA_HOME");
  Deno.env.set("XDG_DATA_HOME", "/tmp/xdg-data-test");
  try {
    assert.equal(parseServeArgs(["-p", "6000"]).data, "/tmp/xdg-data-test/chat/6000");
    assert.equal(parseServeArgs(["-p", "6001"]).data, "/tmp/xdg-data-test/chat/6001");
  } finally {
    if (previous === undefined) Deno.env.delete("XDG_DATA_HOME");
    else Deno.env.set("XDG_DATA_HOME", previous);
  }
});

Deno.test("parseServeArgs refuses TLS flags that contradict each other", () => {
  assert.match(mistake(["--no-tls", "--tls-port", "6001"]), /--no-tls turns TLS off/);
  assert.match(mistake(["--tls-cert", "c.pem"]), /--tls-cert and --tls-key go together/);
  assert.match(mistake(["-p", "6000", "--tls-port", "6000"]), /must differ from the --port/);
  assert.match(mistake(["-p", "65535"]), /past 65535: give --tls-port/);
  assert.match(mistake(["--data", " "]), /--data value/);
  assert.equal(parseServeArgs(["--no-tls"]).tls, false);
});

Deno.test("parseServeArgs bounds --raw-pause and lets --greet-after be 0", () => {
  assert.throws(() => parseServeArgs(["--raw-pause", "0"]), /--raw-pause/);
  assert.throws(() => parseServeArgs(["--raw-pause", "6"]), /--raw-pause/);
  assert.equal(parseServeArgs(["--greet-after", "0"]).greetAfter, 0);
  assert.throws(() => parseServeArgs(["--greet-after", "-1"]), /--greet-after/);
});

Deno.test("parseServeArgs accepts a bracketed IPv6 host and drops a blank motd", () => {
  assert.equal(parseServeArgs(["--host", "[::1]"]).host, "::1");
  assert.equal(parseServeArgs(["--host", "0.0.0.0"]).host, "0.0.0.0");
  assert.ok(!("motd" in parseServeArgs(["--motd", "  "])));
});

Deno.test("parseServeArgs refuses values out of range", () => {
  assert.equal(
    mistake(["--port", "70000"]),
    'The --port value must be a whole number from 0 to 65535: "70000"',
  );
  assert.equal(
    mistake(["--port", "abc"]),
    'The --port value must be a whole number from 0 to 65535: "abc"',
  );
  assert.equal(
    mistake(["--max-message-bytes", "63"]),
    'The --max-message-bytes value must be a whole number from 64 to 1048576: "63"',
  );
  assert.equal(
    mistake(["--max-message-bytes", "1048577"]),
    'The --max-message-bytes value must be a whole number from 64 to 1048576: "1048577"',
  );
  assert.equal(
    mistake(["--max-clients", "0"]),
    'The --max-clients value must be a whole number of 1 or more: "0"',
  );
  assert.equal(
    mistake(["--rate-burst", "0"]),
    'The --rate-burst value must be a whole number of 1 or more: "0"',
  );
  assert.equal(
    mistake(["--send-queue-bytes", "1023"]),
    'The --send-queue-bytes value must be a whole number of 1024 or more: "1023"',
  );
  assert.equal(
    mistake(["--history", "-1"]),
    'The --history value must be a whole number of 0 or more: "-1"',
  );
  assert.equal(
    mistake(["--rate-per-second", "-0.5"]),
    "The --rate-per-second value must be a number of 0 or more, where 0 turns flood control " +
      'off: "-0.5"',
  );
  for (const flag of ["handshake-timeout", "frame-timeout", "ping-interval", "write-timeout"]) {
    assert.equal(
      mistake([`--${flag}`, "0"]),
      `The --${flag} value must be a number of seconds above 0 and at most 1000000: "0"`,
    );
  }
  assert.match(mistake(["--idle-timeout", "1000001"]), /at most 1000000: "1000001"$/);
  assert.match(mistake(["--max-per-ip", "1.5"]), /where 0 means no limit: "1\.5"$/);
});

Deno.test("parseServeArgs requires --idle-timeout above --ping-interval", () => {
  const refusal = (idle: string, ping: string) =>
    `The --idle-timeout must be greater than the --ping-interval, but "${idle}" is not greater ` +
    `than "${ping}"`;
  assert.equal(mistake(["--idle-timeout", "30"]), refusal("30", "30"));
  assert.equal(mistake(["--ping-interval", "75"]), refusal("75", "75"));
  assert.equal(mistake(["--ping-interval", "9", "--idle-timeout", "8.5"]), refusal("8.5", "9"));
  assert.equal(parseServeArgs(["--ping-interval", "74.5"]).pingInterval, 74.5);
});

Deno.test("parseServeArgs refuses bad words, hosts, names and arguments", () => {
  assert.equal(mistake(["--log", "xml"]), 'The --log value must be "text" or "json": "xml"');
  assert.equal(
    mistake(["--host", "a b"]),
    'The --host value must be a host name or an IP address: "a b"',
  );
  assert.equal(mistake(["--server-name", " "]), 'The --server-name value must not be blank: " "');
  assert.equal(mistake(["--colour"]), 'Unknown option: "--colour"');
  assert.equal(mistake(["now"]), 'This command takes no arguments, but got: "now"');
  assert.equal(mistake(["--quiet=no"]), 'The --quiet option takes no value, but got: "no"');
});

Deno.test("SERVE_HELP lists every flag with its default", () => {
  assert.ok(SERVE_HELP.includes(SERVE_USAGE));
  for (const flag of SERVE_FLAGS) {
    assert.match(SERVE_HELP, new RegExp(`--${flag}\\b`), flag);
  }
  const optionBlocks = SERVE_HELP.split("\n  -").slice(1);
  assert.equal(optionBlocks.length, SERVE_FLAGS.length + 1); // and --help
  for (const block of optionBlocks) {
    if (block.startsWith("h, --help")) continue;
    assert.match(block, /\(default: [^)]+\)/, block);
  }
});
