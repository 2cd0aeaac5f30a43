/** Test helpers that talk to the Worker the way a client does: through `SELF.fetch`. */
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { Secrets } from "../../functions/secrets";

/** The test bindings, including the secrets vitest.worker.config.ts sets. */
export const testEnv = env as typeof env & Secrets & { WEBHOOK_RECEIVER_URL: string };

export const BASE = "http://dbe.test";

export interface TestAccount {
  accountId: string;
  apiKey: string;
  /** `fetch` with this account's Bearer key. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/** Sends an operator request with the test ADMIN_TOKEN. */
export function adminRequest(path: string, method: string, body: unknown): Promise<Response> {
  return SELF.fetch(`${BASE}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${testEnv.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/**
 * A fresh account. Live by default, with credits enough for any test, so jobs run
 * on the backend they name; test keys always run on the fake backend for free.
 */
export async function createAccount(
  mode: "live" | "test" = "live",
  options: { credits?: number; plan?: "free" | "standard" | "scale" } = {},
): Promise<TestAccount> {
  const credits = options.credits ?? (mode === "live" ? 1_000_000 : undefined);
  const response = await adminRequest("/accounts", "POST", {
    mode,
    ...(credits ? { credits } : {}),
    ...(options.plan ? { plan: options.plan } : {}),
  });
  expect(response.status).toBe(201);
  const created = await response.json<{ account_id: string; api_key: string }>();
  return {
    accountId: created.account_id,
    apiKey: created.api_key,
    request: (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${created.api_key}`);
      return SELF.fetch(`${BASE}${path}`, { ...init, headers });
    },
  };
}

/** The same account through a new key of `mode`, issued with the account's (live) key. */
export async function withNewKey(account: TestAccount, mode: "live" | "test"): Promise<TestAccount> {
  const response = await account.request("/v1/keys", jsonInit("POST", { name: `${mode} key`, mode }));
  expect(response.status).toBe(201);
  const { api_key } = await response.json<{ api_key: string }>();
  return {
    accountId: account.accountId,
    apiKey: api_key,
    request: (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${api_key}`);
      return SELF.fetch(`${BASE}${path}`, { ...init, headers });
    },
  };
}

export function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** Asserts the one error envelope and returns it. */
export async function expectError(response: Response, status: number, code?: string) {
  expect(response.status).toBe(status);
  const body = await response.json<{ error: { code: string; message: string; details?: unknown } }>();
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error.code).toBe("string");
  expect(typeof body.error.message).toBe("string");
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}
