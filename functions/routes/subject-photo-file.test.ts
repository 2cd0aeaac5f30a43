import { describe, expect, it } from "vitest";
import { createAccount, expectError, jsonInit } from "../../test/helpers/api.js";
import { makePng } from "../../test/helpers/images.js";
import { readySubject } from "../../test/helpers/jobs.js";

describe("GET /v1/subjects/:id/images/:name", () => {
  it("serves a finalized photo's bytes to its own account only", async () => {
    const owner = await createAccount();
    const subject = await readySubject(owner);
    const response = await owner.request(`/v1/subjects/${subject.id}/images/photo-20.png`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array(makePng(512, 512, 20)));
    await expectError(await owner.request(`/v1/subjects/${subject.id}/images/missing.png`), 404);
    await expectError(await (await createAccount()).request(`/v1/subjects/${subject.id}/images/photo-20.png`), 404);
  });

  it("does not serve a draft's uploads, which no training has run on", async () => {
    const owner = await createAccount();
    const draft = await (await owner.request("/v1/subjects", jsonInit("POST", { name: "d", class_noun: "cat" }))).json<{ id: string }>();
    const put = await owner.request(`/v1/subjects/${draft.id}/images/a.png`, { method: "PUT", headers: { "content-type": "image/png" }, body: makePng(512, 512, 1) });
    expect(put.status).toBe(201);
    await expectError(await owner.request(`/v1/subjects/${draft.id}/images/a.png`), 404);
  });
});
