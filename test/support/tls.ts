/** A self-signed certificate for a test HTTPS server, made by `openssl` in `dir`. */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export async function selfSignedCertificate(dir: string, commonName: string): Promise<{ key: Buffer; cert: Buffer }> {
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  await new Promise<void>((resolve, reject) =>
    execFile(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", `/CN=${commonName}`],
      { timeout: 30_000 },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  return { key: await readFile(keyPath), cert: await readFile(certPath) };
}
