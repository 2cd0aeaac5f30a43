/**
 * An independent implementation of AWS Signature Version 4 for query-string
 * (presigned) S3 requests, written from AWS's documentation ("Authenticating
 * Requests: Using Query Parameters") with node:crypto, so the tests check our
 * aws4fetch-based URLs against the spec rather than against themselves.
 */
import { createHash, createHmac } from "node:crypto";

/** AWS's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded (upper-case hex). */
function uriEncode(value: string): string {
  return [...new TextEncoder().encode(value)]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

export interface PresignedParts {
  method: string;
  url: URL;
  /** Signed headers other than host, lower-case names. */
  headers: Record<string, string>;
  secretAccessKey: string;
}

/** The signature a presigned URL must carry, recomputed from its own query parameters. */
export function expectedPresignedSignature({ method, url, headers, secretAccessKey }: PresignedParts): string {
  const params = [...url.searchParams].filter(([name]) => name !== "X-Amz-Signature");
  const canonicalQuery = params
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const allHeaders: Record<string, string> = { ...headers, host: url.host };
  const signedHeaderNames = url.searchParams.get("X-Amz-SignedHeaders")!.split(";");
  const canonicalHeaders = signedHeaderNames.map((name) => `${name}:${allHeaders[name].trim()}\n`).join("");
  const canonicalUri = url.pathname
    .split("/")
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join("/");
  const canonicalRequest = [method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaderNames.join(";"), "UNSIGNED-PAYLOAD"].join(
    "\n",
  );
  const amzDate = url.searchParams.get("X-Amz-Date")!;
  const [, date, region, service] = url.searchParams.get("X-Amz-Credential")!.split("/");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  const kDate = createHmac("sha256", `AWS4${secretAccessKey}`).update(date).digest();
  const kRegion = createHmac("sha256", kDate).update(region).digest();
  const kService = createHmac("sha256", kRegion).update(service).digest();
  const kSigning = createHmac("sha256", kService).update("aws4_request").digest();
  return createHmac("sha256", kSigning).update(stringToSign).digest("hex");
}
