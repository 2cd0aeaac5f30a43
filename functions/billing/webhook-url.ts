/**
 * Which webhook URLs we will call. In production a customer must not point our
 * Worker at anything but a public host over HTTPS, so a webhook can never be used
 * to probe a network behind us. Local dev and tests set
 * `ALLOW_PRIVATE_WEBHOOKS = "true"` to reach a receiver on 127.0.0.1 over http.
 *
 * The rule is by value, not by spelling: the WHATWG URL parser turns every IPv4
 * notation (decimal, octal, hex, short forms) into dotted quads and every IPv6 into
 * its compressed hex form, and `ipaddr.js` then classifies the address against the
 * IANA special-purpose registries. An IPv4 address must be in no special range; an
 * IPv6 address must be global unicast (2000::/3) and in no special range — which
 * refuses every form that embeds an IPv4 address (mapped, compatible, NAT64, 6to4,
 * Teredo) whatever that address is. Names are compared without case and trailing
 * dots; local and single-label names are refused. Workers have no DNS lookup, so a
 * public name is as far as we can judge; their outbound fetches cannot reach
 * private ranges through a name anyway. Delivery re-checks with this same function
 * and does not follow redirects (`jobs/webhooks.ts`).
 */
import ipaddr from "ipaddr.js";

/** IPv6 outside this block is unassigned, reserved or local (IANA IPv6 address space). */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/** Suffixes of names that only ever resolve inside a network (RFC 6761, 6762, 8375; the usual cloud metadata names). */
const LOCAL_NAME_SUFFIXES = ["localhost", "local", "internal", "intranet", "lan", "home", "corp", "home.arpa", "arpa", "test", "invalid", "onion"];

/** Why an IP literal may not receive webhooks, or null when it is a public unicast address. */
export function addressProblem(literal: string): string | null {
  if (!ipaddr.isValid(literal)) return null;
  const address = ipaddr.parse(literal);
  const range = address.range();
  if (range !== "unicast") return `is a special-purpose address (${range})`;
  if (address.kind() === "ipv6" && !address.match(GLOBAL_UNICAST_V6)) return "is not a global unicast IPv6 address";
  return null;
}

/** The host as compared: lower case, without brackets or trailing dots. */
export function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.+$/, "");
}

function nameProblem(host: string): string | null {
  if (!host.includes(".")) return "names a local host (single-label name)";
  if (LOCAL_NAME_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`))) return "names a local host";
  return null;
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
  if (parsed.username || parsed.password) return "must not carry credentials";
  if (allowPrivate) return null;
  if (parsed.protocol !== "https:") return "must use https";
  const host = normalizeHost(parsed.hostname);
  if (ipaddr.isValid(host)) return addressProblem(host);
  return nameProblem(host);
}

export function allowsPrivateWebhooks(env: { ALLOW_PRIVATE_WEBHOOKS?: string }): boolean {
  return env.ALLOW_PRIVATE_WEBHOOKS === "true";
}
