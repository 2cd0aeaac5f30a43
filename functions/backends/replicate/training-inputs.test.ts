import { describe, expect, it } from "vitest";
import { newId, r2Keys, toHex } from "../../../shared/index";
import { signObjectUrl } from "../../storage/signed-urls";
import { trainingZip } from "./training-inputs";
import { BASE, testEnv } from "../../../test/helpers/api";
import { makeJpeg } from "../../../test/helpers/images";

describe("the Replicate trainer's photo zip", () => {
  it("refuses a photo replaced in storage after finalize, even by one of the same size, and writes no zip", async () => {
    const accountId = newId("account");
    const jobId = newId("training");
    const key = r2Keys.photo(accountId, "sub_zip", "a.jpg");
    const checked = makeJpeg(64, 64, 1);
    const input = {
      name: "a.jpg",
      url: (await signObjectUrl(testEnv, BASE, { method: "GET", key, expiresInS: 60 })).url,
      sha256: toHex(await crypto.subtle.digest("SHA-256", checked)),
      size: checked.length,
    };
    const zipKey = r2Keys.trainingFile(accountId, jobId, "inputs/photos.zip");
    const replaced = checked.slice();
    replaced[replaced.length - 10] ^= 0xff;
    await testEnv.BUCKET.put(key, replaced);
    await expect(trainingZip(testEnv, { job_id: jobId, inputs: [input], origin: BASE, ttlS: 60 })).rejects.toThrow(/changed since it was checked/);
    expect(await testEnv.BUCKET.head(zipKey)).toBeNull();

    await testEnv.BUCKET.put(key, checked);
    await trainingZip(testEnv, { job_id: jobId, inputs: [input], origin: BASE, ttlS: 60 });
    expect(await testEnv.BUCKET.head(zipKey)).not.toBeNull();
  });
});
