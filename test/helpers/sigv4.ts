/**
 * An independent implementation of AWS Signature Version 4 for query-string
 * (presigned) S3 requests, written from AWS's documentation ("Authenticating
 * Requests: Using Query Parameters") on bare WebCrypto primitives, so the tests
 * check our aws4fetch-based URLs against the spec rather than against themselves.
 */
const encoder = new TextEncoder();

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");

async function hmac(key: string | ArrayBuffer, message: string): Promise<ArrayBuffer> {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const cryptoKey = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
}

/** AWS's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded (upper-case hex). */
function uriEncode(value: string): string {
  return [...encoder.encode(value)]
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
export async function expectedPresignedSignature({ method, url, headers, secretAccessKey }: PresignedParts): Promise<string> {
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
  const canonicalHash = hex(await crypto.subtle.digest("SHA-256", encoder.encode(canonicalRequest)));
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, canonicalHash].join("\n");
  const kDate = await hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  const kSigning = await hmac(kService, "aws4_request");
  return hex(await hmac(kSigning, stringToSign));
}
