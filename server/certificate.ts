/**
 * The server's TLS certificate: the one given with `--tls-cert`/`--tls-key`, or a self-signed
 * ECDSA P-256 leaf generated on first start (with the machine's names and addresses) and kept in
 * the database, so its fingerprint, which clients pin, stays the same across restarts.
 *
 * Certificates are built with `@peculiar/x509` on WebCrypto, never with hand-written ASN.1.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { Database } from "../store/database.ts";
import { certificateFingerprint } from "../protocol/fingerprint.ts";

x509.cryptoProvider.set(crypto);

/** A PEM certificate with its key, and the fingerprint clients pin. */
export interface ServerCertificate {
  /** The certificate (chain), PEM. */
  readonly certPem: string;
  /** The private key, PEM. */
  readonly keyPem: string;
  /** `SHA256:` + base64 of the SHA-256 of the leaf's DER bytes. */
  readonly fingerprint: string;
  /** Where it came from, for the log and the banner. */
  readonly source: "generated" | "database" | "files";
}

/** The names a generated certificate is valid for. */
export interface CertificateNames {
  /** DNS names (`localhost`, the host name). */
  readonly dns: readonly string[];
  /** IP addresses. */
  readonly ips: readonly string[];
}

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
 * import { generateCertificate } from "./certificate.ts";
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

/**
 * The fingerprint of the first certificate of a PEM text.
 *
 * @param certPem a PEM certificate (chain)
 * @returns `SHA256:...`
 * @throws {SyntaxError} when the text holds no PEM certificate
 */
export async function pemFingerprint(certPem: string): Promise<string> {
  const blocks = x509.PemConverter.decode(certPem);
  const first = blocks[0];
  if (first === undefined) throw new SyntaxError("The text holds no PEM certificate");
  return await certificateFingerprint(new Uint8Array(first));
}

/**
 * The names of this machine a generated certificate should carry: `localhost`, the host name,
 * loopback, and every interface's address.
 *
 * @returns the names
 */
export function machineNames(): CertificateNames {
  const dns = new Set<string>(["localhost"]);
  const ips = new Set<string>(["127.0.0.1", "::1"]);
  try {
    const host = Deno.hostname().trim();
    if (/^[A-Za-z0-9.-]+$/.test(host)) dns.add(host);
  } catch {
    // Without permission to read the host name, localhost and addresses must do.
  }
  try {
    for (const info of Deno.networkInterfaces()) {
      if (info.family === "IPv6" && info.address.toLowerCase().startsWith("fe80")) continue;
      ips.add(info.address);
    }
  } catch {
    // Without permission to list interfaces, loopback must do.
  }
  return { dns: [...dns], ips: [...ips] };
}

/**
 * The certificate to serve: read from the given files, else the one kept in the database, else
 * a new one generated now and kept there.
 *
 * @param database the server's database
 * @param files `--tls-cert` and `--tls-key`, when given
 * @param names the names for a generated certificate
 * @returns the certificate
 * @throws {Error} with a sentence naming the file when a given file cannot be read or holds no
 *   certificate
 */
export async function serverCertificate(
  database: Database,
  files: { readonly cert: string; readonly key: string } | undefined,
  names: CertificateNames = machineNames(),
): Promise<ServerCertificate> {
  if (files !== undefined) {
    const certPem = _readPem(files.cert, "--tls-cert");
    const keyPem = _readPem(files.key, "--tls-key");
    let fingerprint: string;
    try {
      fingerprint = await pemFingerprint(certPem);
    } catch {
      throw new Error(`The --tls-cert file ${files.cert} holds no PEM certificate`);
    }
    return { certPem, keyPem, fingerprint, source: "files" };
  }
  const kept = database.sql.prepare("SELECT cert_pem, key_pem FROM certificate WHERE id = 1")
    .get() as { cert_pem: string; key_pem: string } | undefined;
  if (kept !== undefined) {
    return {
      certPem: kept.cert_pem,
      keyPem: kept.key_pem,
      fingerprint: await pemFingerprint(kept.cert_pem),
      source: "database",
    };
  }
  const made = await generateCertificate(names);
  database.sql.prepare(
    "INSERT INTO certificate (id, cert_pem, key_pem, created_at) VALUES (1, ?, ?, ?)",
  ).run(made.certPem, made.keyPem, Date.now());
  return { ...made, fingerprint: await pemFingerprint(made.certPem), source: "generated" };
}

function _readPem(path: string, flag: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new Error(
      `Cannot read the ${flag} file ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
}
