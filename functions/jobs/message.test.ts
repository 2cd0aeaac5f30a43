import { describe, expect, it } from "vitest";
import { JobMessageSchema } from "../../shared/index.js";
import { buildJobMessage, latestCheckpoint } from "./message.js";
import type { ArtifactRecord } from "./record.js";
import { generationRecord, SHA, trainingRecord } from "../../test/helpers/job-fixtures.js";

const context = {
  callbackUrl: "https://edge.test/internal/jobs/trn_00000000000000000000/events",
  now: 1_000_000,
  signGet: async (key: string) => `https://r2.test/${key}?sig=1`,
};

const checkpoint = (step: number, attempt = 1): ArtifactRecord => ({
  name: `checkpoints/step-${step}.safetensors`,
  format: "checkpoint",
  key: `k/${step}`,
  sha256: SHA,
  size: 1,
  content_type: "application/octet-stream",
  meta: { step },
  attempt,
});

describe("job messages", () => {
  it("signs every input and satisfies the shared schema", async () => {
    const message = await buildJobMessage(trainingRecord(), context);
    expect(JobMessageSchema.parse(message)).toEqual(message);
    expect(message).toMatchObject({
      kind: "train",
      attempt: 1,
      deadline: 1_000_000 + 6 * 3600_000,
      inputs: [{ name: "a.png", url: "https://r2.test/accounts/acc_a/subjects/sub_x/photos/a.png?sig=1" }],
      class_images: { cache_key: "cafe" },
    });
    expect(message).not.toHaveProperty("resume");
    expect(message.kind === "train" && message.class_images?.url).toBeFalsy();
  });

  it("hands a cached class-image bundle to the backend", async () => {
    const message = await buildJobMessage(trainingRecord(), { ...context, cachedClassImages: { url: "https://r2.test/b", sha256: SHA } });
    expect(message).toMatchObject({ class_images: { cache_key: "cafe", url: "https://r2.test/b", sha256: SHA } });
  });

  it("resumes a later attempt from the newest checkpoint", async () => {
    const artifacts = [checkpoint(250), checkpoint(750, 1), checkpoint(500, 2)];
    expect(latestCheckpoint(artifacts)?.meta?.step).toBe(750);
    const message = await buildJobMessage(trainingRecord({ attempt: 2, artifacts }), context);
    expect(message).toMatchObject({ attempt: 2, resume: { url: "https://r2.test/k/750?sig=1", sha256: SHA, step: 750 } });
  });

  it("builds generation messages with their weights", async () => {
    const weights = { format: "diffusers-lora" as const, method: "lora" as const, files: [{ name: "w", key: "k/w", sha256: SHA, size: 3 }] };
    const message = await buildJobMessage(generationRecord({ weights }), context);
    expect(JobMessageSchema.parse(message)).toMatchObject({
      kind: "generate",
      params: { seed: 5, width: 64, height: 64, num_images: 2 },
      weights: { format: "diffusers-lora", files: [{ url: "https://r2.test/k/w?sig=1" }] },
    });
  });
});
