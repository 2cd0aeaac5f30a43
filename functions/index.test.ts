import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { r2Keys } from "../shared/index";
import { signObjectUrl } from "./storage/signed-urls";
import { BASE, createAccount, testEnv } from "../test/helpers/api";
import { makeJpeg } from "../test/helpers/images";
import { createSubject, putImage } from "../test/helpers/subjects";

it("answers the health check inside workerd", async () => {
  const response = await SELF.fetch("http://example.com/healthz");
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ ok: true });
});

it("marks every answer nosniff, downloads of stored files included", async () => {
  const account = await createAccount();
  const subject = await createSubject(account);
  expect((await putImage(account, subject.id, "a.jpg", makeJpeg(64, 64))).status).toBe(201);
  const download = await signObjectUrl(testEnv, BASE, { method: "GET", key: r2Keys.photo(account.accountId, subject.id, "a.jpg"), expiresInS: 60 });
  const answers = [await SELF.fetch(download.url), await SELF.fetch(`${BASE}/healthz`), await account.request("/v1/subjects/nope")];
  for (const answer of answers) {
    expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    await answer.arrayBuffer();
  }
});
