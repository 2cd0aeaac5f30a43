import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { FakeWorkerCallbacks } from "../../../test/fakes/worker-callbacks.js";
import { EventReporter } from "./events.js";
import { fetchVerifiedInput } from "./inputs.js";
import { Uploader } from "./uploads.js";
import { JobError } from "../jobs/errors.js";

const SECRET = "test-secret-0123456789";
const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 200, maxElapsedMs: 20_000 };

let worker: FakeWorkerCallbacks;
beforeEach(async () => {
  worker = new FakeWorkerCallbacks(SECRET);
  await worker.start();
});
afterEach(() => worker.stop());

const reporter = (secret = SECRET) =>
  new EventReporter({ jobId: "job_1", attempt: 2, callbackUrl: worker.callbackUrl, secret, retry: FAST_RETRY });

describe("events", () => {
  it("delivers signed events in order with a per-attempt seq", async () => {
    const events = reporter();
    void events.emit({ type: "started", backend: "wasm", device: "cpu" });
    void events.emit({ type: "progress", phase: "training", step: 1, total_steps: 2 });
    await events.emit({ type: "succeeded" });
    expect(worker.events.map((event) => [event.type, event.seq, event.attempt])).toEqual([
      ["started", 0, 2],
      ["progress", 1, 2],
      ["succeeded", 2, 2],
    ]);
  });

  it("is rejected by the Worker when signed with another secret", async () => {
    const events = reporter("another-secret-0123456");
    await events.emit({ type: "succeeded" });
    expect(worker.rejectedSignatures).toBe(1);
    expect(worker.events).toHaveLength(0);
  });

  it("retries while the callback is down and delivers once it is back", async () => {
    const events = reporter();
    await worker.stop();
    const delivered = events.emit({ type: "succeeded" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await worker.start();
    await delivered;
    expect(worker.events.map((event) => event.type)).toEqual(["succeeded"]);
    expect(events.undelivered).toBe(0);
  });

  it("retries answers of 503", async () => {
    worker.failNext = 3;
    await reporter().emit({ type: "canceled" });
    expect(worker.events.map((event) => event.type)).toEqual(["canceled"]);
  });

  it("sends the first, the last and at most one progress per interval", async () => {
    const events = reporter();
    for (let step = 1; step <= 50; step++) events.progress({ phase: "training", step, total_steps: 50 });
    await events.flush();
    expect(worker.events.map((event) => (event.type === "progress" ? event.step : -1))).toEqual([1, 50]);
  });
});

describe("uploads", () => {
  it("asks a slot, PUTs the bytes and announces the artifact with its digest", async () => {
    const events = reporter();
    const uploads = new Uploader({
      jobId: "job_1",
      attempt: 2,
      callbackUrl: worker.callbackUrl,
      secret: SECRET,
      events,
      retry: FAST_RETRY,
    });
    const bytes = new TextEncoder().encode("weights");
    const uploaded = await uploads.upload({
      name: "artifacts/lora.safetensors",
      bytes,
      contentType: "application/octet-stream",
      format: "kohya-lora",
      meta: { rank: 4 },
    });
    const digest = createHash("sha256").update(bytes).digest("hex");
    expect(uploaded).toEqual({ name: "artifacts/lora.safetensors", sha256: digest, size: 7 });
    expect(worker.blobs.get("artifacts/lora.safetensors")?.bytes).toEqual(bytes);
    expect(worker.events).toEqual([
      expect.objectContaining({ type: "artifact", name: "artifacts/lora.safetensors", sha256: digest, size: 7 }),
    ]);
  });
});

describe("inputs", () => {
  it("returns the bytes when the sha256 matches", async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    worker.inputs.set("a.jpg", bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const got = await fetchVerifiedInput({ name: "a.jpg", url: worker.inputUrl("a.jpg"), sha256, size: 3 }, FAST_RETRY);
    expect(got).toEqual(bytes);
  });

  it("fails with input_checksum_mismatch naming the file when the bytes differ", async () => {
    worker.inputs.set("a.jpg", new Uint8Array([1, 2, 3]));
    const error = await fetchVerifiedInput(
      { name: "a.jpg", url: worker.inputUrl("a.jpg"), sha256: "0".repeat(64), size: 3 },
      FAST_RETRY,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).code).toBe("input_checksum_mismatch");
    expect((error as JobError).message).toMatch(/Upload a\.jpg again/);
  });
});
