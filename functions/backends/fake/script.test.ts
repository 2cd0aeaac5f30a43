import { imageSize } from "image-size";
import { describe, expect, it } from "vitest";
import { fakeBackend } from "./index.js";
import { placeholderImage } from "./placeholders.js";
import { fakeStages } from "./script.js";
import { BackendEventSchema, type BackendEvent } from "../../../shared/index.js";
import { buildJobMessage } from "../../jobs/message.js";
import { generationRecord, trainingRecord } from "../../../test/helpers/job-fixtures.js";

const context = { callbackUrl: "https://edge.test/cb", now: 0, signGet: async (key: string) => `https://r2.test/${key}` };

/** Polls the fake until it has nothing more, as the job object's poll timer would. */
async function drain(message: Awaited<ReturnType<typeof buildJobMessage>>) {
  const stored = new Map<string, Uint8Array>();
  const store = {
    put: async (name: string, body: Uint8Array) => {
      stored.set(name, body);
      return { sha256: "c".repeat(64), size: body.length };
    },
  };
  const backend = fakeBackend({ stepMs: 1 });
  const events: BackendEvent[] = [];
  for (;;) {
    const batch = await backend.poll!({ message, lastSeq: events.length - 1, store });
    if (batch.length === 0) return { events, stored };
    events.push(...batch);
  }
}

describe("fake backend script", () => {
  it("plays a training as valid, consecutively numbered events ending in succeeded", async () => {
    const { events, stored } = await drain(await buildJobMessage(trainingRecord(), context));
    for (const event of events) BackendEventSchema.parse(event);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect(events[0].type).toBe("started");
    expect(events.at(-1)!.type).toBe("succeeded");
    expect([...stored.keys()]).toEqual([
      "class-images",
      "checkpoints/step-50.safetensors",
      "artifacts/pytorch_lora_weights.safetensors",
      "artifacts/kohya_lora.safetensors",
    ]);
  });

  it("resumes from the checkpoint step and skips class images it was given", async () => {
    const message = await buildJobMessage(trainingRecord(), context);
    if (message.kind !== "train") throw new Error("expected a training message");
    const resumed = { ...message, attempt: 2, resume: { url: "https://r2.test/c", sha256: "d".repeat(64), step: 60 }, class_images: { cache_key: "cafe", url: "https://r2.test/b" } };
    const steps = fakeStages(resumed)
      .flat()
      .filter((step) => step.kind === "event" && step.type === "progress" && step.phase === "training")
      .map((step) => (step as { step: number }).step);
    expect(steps).toEqual([75, 100]);
    expect(fakeStages(resumed).flat().some((step) => step.kind === "file" && step.format === "class-images")).toBe(false);
  });

  it("makes one placeholder PNG per requested image", async () => {
    const { stored } = await drain(await buildJobMessage(generationRecord(), context));
    expect([...stored.keys()]).toEqual(["images/0.png", "images/1.png"]);
    expect(imageSize(stored.get("images/0.png")!)).toMatchObject({ width: 64, height: 64, type: "png" });
  });

  it("encodes valid PNGs of any size, marked as placeholders", async () => {
    const png = await placeholderImage(1024, 8, 3);
    expect(imageSize(png)).toMatchObject({ width: 1024, height: 8 });
    expect(new TextDecoder().decode(png)).toContain("placeholder from the fake backend");
  });
});
