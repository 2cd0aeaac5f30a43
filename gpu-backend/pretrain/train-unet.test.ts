import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clipVocabularyFiles, learnMerges } from "../src/emoji/bpe-vocab.js";
import { renderScene } from "../src/emoji/compose.js";
import { vocabularyCorpus, type PretrainingSet } from "../src/emoji/dataset.js";
import { emojiVaeConfig } from "../src/emoji/model-config.js";
import { pretrainingScenes } from "../src/emoji/scenes.js";
import { SafetensorsReader } from "../src/model/safetensors.js";
import { AutoencoderKL } from "../src/model/vae.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { trainUNet } from "./train-unet.js";

/** A UNet weight file's tensors, by name. */
async function weights(file: string): Promise<Map<string, Float32Array>> {
  const reader = await SafetensorsReader.open(file);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of reader.names) out.set(name, (await reader.read(name)).data as Float32Array);
    return out;
  } finally {
    await reader.close();
  }
}

/** ‖a − b‖ / ‖b‖ over every tensor. */
function relativeDistance(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let difference = 0;
  let norm = 0;
  for (const [name, values] of b) {
    const other = a.get(name)!;
    for (let i = 0; i < values.length; i++) [difference += (other[i] - values[i]) ** 2, norm += values[i] ** 2];
  }
  return Math.sqrt(difference / norm);
}

describe("the UNet's identifier stage", () => {
  let root: string;
  beforeAll(async () => {
    await initTensorBackend({ requested: "wasm", log: () => {} });
    root = await mkdtemp(path.join(tmpdir(), "unet-stage-"));
    vi.stubEnv("TRAIN_WORKERS", "1");
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await rm(root, { recursive: true, force: true });
  });

  it("continues the exported model, adds unknown-word captions, and keeps the first stage's facts beside its own", async () => {
    const scenes = pretrainingScenes(5, 1).slice(0, 6);
    const set: PretrainingSet = {
      scenes,
      images: await Promise.all(scenes.map(({ scene }) => renderScene(scene))),
      vocabulary: clipVocabularyFiles(learnMerges(vocabularyCorpus(scenes))),
    };
    const vae = new AutoencoderKL(emojiVaeConfig, { kind: "random", seed: 1 });
    const common = { vae, set, work: path.join(root, "work"), seed: 3, batchSize: 2, jitterCopies: 1, command: "test", exportEvery: 2 };
    const first = path.join(root, "first");
    const continued = path.join(root, "continued");
    await mkdir(common.work);
    await trainUNet({ ...common, out: first, steps: 2 });
    // Another seed: a fresh initialisation would differ from the first stage's, so only loading it explains a near match.
    await trainUNet({ ...common, seed: 4, out: continued, steps: 2, identifiers: { init: first, share: 0.5, baseLr: 2e-4 } });

    const firstFacts = JSON.parse(await readFile(path.join(first, "training.json"), "utf8"));
    const facts = JSON.parse(await readFile(path.join(continued, "training.json"), "utf8"));
    expect(facts.steps).toBe(2);
    expect(facts.scalingFactor).toBe(firstFacts.scalingFactor);
    expect(facts.identifiers).toMatchObject({ steps: 2, share: 0.5, baseLr: 2e-4, reserved: ["sks"] });
    // 12 views + 2 empty captions, and about half the views again with an unknown word.
    expect(facts.identifiers.examples).toBeGreaterThan(14 + 2);
    expect(facts.identifiers.examples).toBeLessThan(14 + 12);
    expect(JSON.parse(await readFile(path.join(continued, "vae", "config.json"), "utf8")).scaling_factor).toBe(firstFacts.scalingFactor);

    // It started from the first stage's weights (two small steps away), not from a fresh initialisation.
    const unetFile = (dir: string) => path.join(dir, "unet", "diffusion_pytorch_model.safetensors");
    const [before, after] = await Promise.all([weights(unetFile(first)), weights(unetFile(continued))]);
    const moved = relativeDistance(after, before);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(0.02);
  }, 120_000);
});
