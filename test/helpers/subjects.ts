/** Subjects and photos the way a client makes them, for the Worker tests. */
import { expect } from "vitest";
import { jsonInit, type TestAccount } from "./api";

export async function createSubject(account: TestAccount, body: Record<string, unknown> = { name: "Rex", class_noun: "dog" }) {
  const response = await account.request("/v1/subjects", jsonInit("POST", body));
  expect(response.status).toBe(201);
  return response.json<{ id: string; identifier: string; status: string; photos: unknown[] }>();
}

export function putImage(account: TestAccount, subjectId: string, name: string, bytes: Uint8Array | ReadableStream, type = "image/jpeg") {
  return account.request(`/v1/subjects/${subjectId}/images/${name}`, { method: "PUT", headers: { "content-type": type }, body: bytes });
}
