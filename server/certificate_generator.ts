/**
 * Makes the self-signed certificate of a server that has none yet, with `@peculiar/x509` on
 * WebCrypto, never with hand-written ASN.1. Loaded only when a certificate is made (see
 * `server/certificate.ts`).
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { CertificateNames } from "./certificate.ts";

x509.cryptoProvider.set(crypto);

/** How long a generated certificate is valid: clients pin it, so expiry is not what protects. */
const _VALID_DAYS = 3650;

/**
 * Makes a self-signed ECDSA P-256 leaf certificate (CA false) for the given names.
 *
 * @param names the DNS names and IP addresses it is for
 * @returns the PEM certificate and PKCS #8 key
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateCertificate } from "./certificate_generator.ts";
 * const { certPem } = await generateCertificate({ dns: ["localhost"], ips: ["127.0.0.1"] });
 * assert.ok(certPem.startsWith("-----BEGIN CERTIFICATE-----"));
 * ```
 */
export async function generateCertificate(
  names: CertificateNames,
): Promise<{ certPem: string; keyPem: string }> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const now = Date.now();
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = serial[0]! & 0x7f; // A positive serial number.
  const altNames = [
    ...names.dns.map((value) => ({ type: "dns" as const, value })),
    ...names.ips.map((value) => ({ type: "ip" as const, value })),
  ];
  const common = names.dns[0] ?? names.ips[0] ?? "chat";
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Array.from(serial, (b) => b.toString(16).padStart(2, "0")).join(""),
    name: `CN=${common.replace(/[,+="\\<>;]/g, "_")}, O=chat`,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + _VALID_DAYS * 24 * 60 * 60 * 1000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(altNames, false),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: cert.toString("pem"),
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
  };
}
