import { describe, expect, it } from "vitest";
import { addressProblem, normalizeHost, webhookUrlProblem } from "./webhook-url";

const production = (url: string) => webhookUrlProblem(url, false);

describe("webhook URLs in production (ALLOW_PRIVATE_WEBHOOKS=false)", () => {
  it("refuses loopback, private, link-local and metadata addresses in every IPv4 notation", () => {
    const literals = [
      "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0x7f.1", "017700000001", "0177.0.0.1",
      "10.1.2.3", "172.20.0.1", "192.168.0.9", "169.254.169.254", "0xa9fea9fe", "100.64.0.1", "0.0.0.0", "0",
    ];
    for (const host of literals) expect(production(`https://${host}/hook`), host).not.toBeNull();
  });

  it("refuses every special-purpose IPv4 range, not only the private ones", () => {
    for (const host of ["198.18.0.1", "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "240.0.0.1", "255.255.255.255"]) {
      expect(production(`https://${host}/`), host).not.toBeNull();
    }
  });

  it("refuses IPv6 forms that embed an IPv4 address: mapped, compatible, NAT64, 6to4, Teredo", () => {
    const literals = [
      "::ffff:7f00:1", "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "::127.0.0.1", "::7f00:1", "64:ff9b::7f00:1",
      "64:ff9b::8.8.8.8", "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:0808:0808::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
      "::ffff:0:7f00:1",
    ];
    for (const host of literals) expect(production(`https://[${host}]/`), host).not.toBeNull();
  });

  it("refuses IPv6 loopback, unspecified, link-local, unique-local, site-local, multicast, documentation and unassigned space", () => {
    for (const host of ["::1", "::", "fe80::1", "fd00::1", "fc00::1", "fec0::1", "ff02::1", "2001:db8::1", "100::1", "4000::1", "::2"]) {
      expect(production(`https://[${host}]/`), host).not.toBeNull();
    }
  });

  it("refuses local names whatever their case or trailing dots", () => {
    for (const host of ["localhost", "LOCALHOST.", "localhost..", "api.localhost.", "printer.local", "metadata.google.internal.", "metadata", "router.home.arpa"]) {
      expect(production(`https://${host}/`), host).not.toBeNull();
    }
  });

  it("refuses plain http, other schemes and credentials in the URL", () => {
    for (const url of ["http://example.com/hook", "http://8.8.8.8/", "ftp://example.com/", "javascript:alert(1)", "https://user:pw@example.com/", "not a url"]) {
      expect(production(url), url).not.toBeNull();
    }
  });

  it("accepts public HTTPS hosts by name and by address", () => {
    for (const url of ["https://example.com/hook", "https://EXAMPLE.com./hook", "https://8.8.8.8/", "https://172.32.0.1/", "https://[2606:4700:4700::1111]/"]) {
      expect(production(url), url).toBeNull();
    }
  });
});

describe("webhook URLs where the deployment allows private receivers", () => {
  it("accepts loopback over http for local dev and tests, but still only http(s)", () => {
    expect(webhookUrlProblem("http://127.0.0.1:8080/x", true)).toBeNull();
    expect(webhookUrlProblem("ftp://127.0.0.1/", true)).not.toBeNull();
  });
});

describe("the pieces", () => {
  it("classifies addresses by value and normalises names", () => {
    expect(addressProblem("::ffff:7f00:1")).toMatch(/special-purpose/);
    expect(addressProblem("8.8.8.8")).toBeNull();
    expect(normalizeHost("[::1]")).toBe("::1");
    expect(normalizeHost("Example.COM.")).toBe("example.com");
  });
});
