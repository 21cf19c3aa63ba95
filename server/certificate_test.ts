import assert from "node:assert/strict";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { certificateFingerprint } from "../protocol/fingerprint.ts";
import { pemFingerprint } from "./certificate.ts";
import { generateCertificate } from "./certificate_generator.ts";
import { mainImportEdges } from "../tests/support/module_graph.ts";

Deno.test("pemFingerprint is the SHA-256 of the DER bytes the X.509 library reads", async () => {
  const { certPem } = await generateCertificate({ dns: ["localhost"], ips: ["127.0.0.1"] });
  const der = new Uint8Array(new x509.X509Certificate(certPem).rawData);
  assert.equal(await pemFingerprint(certPem), await certificateFingerprint(der));
  // A chain: the first certificate is the leaf.
  const other = await generateCertificate({ dns: ["other"], ips: [] });
  assert.equal(await pemFingerprint(`${certPem}\n${other.certPem}`), await pemFingerprint(certPem));
  // Windows line ends and surrounding text change nothing.
  const crlf = `Leaf:\r\n${certPem.replaceAll("\n", "\r\n")}`;
  assert.equal(await pemFingerprint(crlf), await pemFingerprint(certPem));
});

Deno.test("pemFingerprint refuses a text without a certificate, or a broken one", async () => {
  await assert.rejects(pemFingerprint("not a certificate"), SyntaxError);
  await assert.rejects(
    pemFingerprint("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"),
    SyntaxError,
  );
  await assert.rejects(
    pemFingerprint("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"),
    SyntaxError,
  );
});

Deno.test("the X.509 library is loaded only when a certificate is made", async () => {
  // It adds about 17 MB of RSS: a server that has its certificate, or no TLS, does without it.
  const edges = await mainImportEdges();
  const intoGenerator = edges.filter((e) => e.to.endsWith("certificate_generator.ts"));
  assert.ok(intoGenerator.length >= 1, "certificate.ts imports the generator");
  assert.ok(intoGenerator.every((e) => e.dynamic === true), JSON.stringify(intoGenerator));
  const library = edges.filter((e) => e.to === "@peculiar/x509" || e.to === "reflect-metadata");
  assert.ok(
    library.every((e) => e.from.endsWith("server/certificate_generator.ts")),
    JSON.stringify(library),
  );
});
