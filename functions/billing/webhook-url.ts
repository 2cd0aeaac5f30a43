/**
 * Which webhook URLs we will call. In production a customer must not point our
 * Worker at loopback, private, link-local or carrier-NAT addresses (or `localhost`
 * names), so a webhook can never be used to probe a network behind us. Local dev and
 * tests set `ALLOW_PRIVATE_WEBHOOKS = "true"` to reach a receiver on 127.0.0.1.
 * Only literal addresses and local names can be judged here: Workers have no DNS
 * lookup, and their outbound fetches cannot reach private ranges through a name anyway.
 */
const PRIVATE_V4: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
];

function ipv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return null;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

function isPrivateV4(address: number): boolean {
  return PRIVATE_V4.some(([network, bits]) => {
    const base = ipv4(network)!;
    return address >= base && address < base + 2 ** (32 - bits);
  });
}

function isPrivateV6(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (address === "::1" || address === "::") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return isPrivateV4(ipv4(mapped[1])!);
  return /^f[cd]/.test(address) || /^fe[89ab]/.test(address);
}

/** Why `url` may not receive webhooks here, or null when it may. */
export function webhookUrlProblem(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "must be http(s)";
  if (allowPrivate) return null;
  const host = parsed.hostname.toLowerCase();
  const v4 = ipv4(host);
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return "names a local host";
  }
  if ((v4 !== null && isPrivateV4(v4)) || (host.includes(":") && isPrivateV6(host))) return "is a private or loopback address";
  return null;
}

export function allowsPrivateWebhooks(env: { ALLOW_PRIVATE_WEBHOOKS?: string }): boolean {
  return env.ALLOW_PRIVATE_WEBHOOKS === "true";
}
