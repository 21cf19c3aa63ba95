import assert from "node:assert/strict";
import { bannerLines, joinAddresses, joinTarget } from "./banner.ts";

function iface(address: string, family: "IPv4" | "IPv6", name = "eth0"): Deno.NetworkInterfaceInfo {
  return {
    family,
    name,
    address,
    netmask: "",
    scopeid: family === "IPv6" ? 0 : null,
    cidr: "",
    mac: "",
  };
}

const INTERFACES = [
  iface("127.0.0.1", "IPv4", "lo"),
  iface("::1", "IPv6", "lo"),
  iface("fe80::1", "IPv6"),
  iface("fd00::2", "IPv6"),
  iface("192.168.1.23", "IPv4"),
  iface("10.0.0.5", "IPv4", "wlan0"),
  iface("192.168.1.23", "IPv4", "alias"),
];

Deno.test("joinAddresses lists LAN addresses first, IPv4 before IPv6, loopback last", () => {
  const addresses = joinAddresses("::", INTERFACES);
  assert.deepEqual(addresses, [
    { address: "192.168.1.23", loopback: false },
    { address: "10.0.0.5", loopback: false },
    { address: "fd00::2", loopback: false },
    { address: "127.0.0.1", loopback: true },
    { address: "::1", loopback: true },
  ]);
});

Deno.test("joinAddresses on 0.0.0.0 lists IPv4 only; on one address only that one", () => {
  assert.deepEqual(joinAddresses("0.0.0.0", INTERFACES).map((a) => a.address), [
    "192.168.1.23",
    "10.0.0.5",
    "127.0.0.1",
  ]);
  assert.deepEqual(joinAddresses("10.0.0.5", INTERFACES), [{
    address: "10.0.0.5",
    loopback: false,
  }]);
  assert.deepEqual(joinAddresses("127.0.0.1", INTERFACES), [{
    address: "127.0.0.1",
    loopback: true,
  }]);
  assert.deepEqual(joinAddresses("::1", []), [{ address: "::1", loopback: true }]);
  assert.deepEqual(joinAddresses("::", []), []);
});

Deno.test("joinTarget omits the default port and brackets IPv6", () => {
  assert.equal(joinTarget("192.168.1.23", 5050), "192.168.1.23");
  assert.equal(joinTarget("192.168.1.23", 6000), "192.168.1.23:6000");
  assert.equal(joinTarget("fd00::2", 6000), "[fd00::2]:6000");
  assert.equal(joinTarget("fd00::2", 5050), "[fd00::2]");
});

Deno.test("bannerLines: version and port first, the command for another machine, addresses", () => {
  const binary = { kind: "binary", name: "chat" } as const;
  const lines = bannerLines("1.2.3", 5050, joinAddresses("::", INTERFACES), binary);
  assert.equal(lines[0], "chat v1.2.3 listening on port 5050");
  assert.equal(lines[1], "TLS is off (--no-tls): chat on this server is not encrypted");
  assert.equal(lines[2], "Join from another machine with:  chat join 192.168.1.23");
  assert.equal(
    lines[3],
    "Addresses: 192.168.1.23, 10.0.0.5, [fd00::2], 127.0.0.1 (this machine), [::1] (this machine)",
  );
  assert.equal(lines.at(-1), "Press Ctrl-C to stop.");
  assert.ok(lines.length <= 5, "a short banner");
});

Deno.test("bannerLines with TLS gives the TLS port, the fingerprint and a pinned join command", () => {
  const fingerprint = "SHA256:" + "A".repeat(43);
  const binary = { kind: "binary", name: "chat" } as const;
  const lines = bannerLines("1.2.3", 5050, joinAddresses("::", INTERFACES), binary, {
    port: 5051,
    fingerprint,
  });
  assert.equal(lines[0], "chat v1.2.3 listening on port 5050");
  assert.equal(lines[1], `TLS on port 5051, certificate ${fingerprint}`);
  assert.equal(
    lines[2],
    `Join from another machine with:  chat join 192.168.1.23:5051 --fingerprint ${fingerprint}`,
  );
  assert.ok(lines[3]?.startsWith("Addresses: 192.168.1.23:5051, 10.0.0.5:5051"));
  assert.equal(
    lines[4],
    "Plain-text clients (nc, classic socket chat) use port 5050, not encrypted.",
  );
  assert.equal(lines.at(-1), "Press Ctrl-C to stop.");
  const checkout = bannerLines("1.2.3", 5050, joinAddresses("127.0.0.1", []), {
    kind: "checkout",
  }, { port: 5051, fingerprint });
  assert.equal(
    checkout[2],
    `Join from this machine with:  deno task join 127.0.0.1:5051 --fingerprint ${fingerprint}`,
  );
});

Deno.test("bannerLines on a loopback-only machine says to join from this machine", () => {
  const lines = bannerLines("1.2.3", 6000, joinAddresses("127.0.0.1", []), {
    kind: "binary",
    name: "chat",
  });
  assert.equal(lines[0], "chat v1.2.3 listening on port 6000");
  assert.equal(lines[2], "Join from this machine with:  chat join 127.0.0.1:6000");
});

Deno.test("bannerLines writes the join command the reader can run", () => {
  const addresses = joinAddresses("127.0.0.1", []);
  const checkout = bannerLines("1.2.3", 6000, addresses, { kind: "checkout" });
  assert.equal(checkout[2], "Join from this machine with:  deno task join 127.0.0.1:6000");
  const renamed = bannerLines("1.2.3", 6000, addresses, { kind: "binary", name: "chat-arm64" });
  assert.equal(renamed[2], "Join from this machine with:  chat-arm64 join 127.0.0.1:6000");
});

Deno.test("bannerLines without any address still gives the port", () => {
  const lines = bannerLines("1.2.3", 6000, []);
  assert.deepEqual(lines, [
    "chat v1.2.3 listening on port 6000",
    "TLS is off (--no-tls): chat on this server is not encrypted",
    "Press Ctrl-C to stop.",
  ]);
});
