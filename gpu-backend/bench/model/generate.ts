/**
 * Generation speed: milliseconds per image of a 20-step DDIM render (guidance 7.5, so the UNet runs
 * the conditional and unconditional halves as one batch of two) with the embedded tiny-emoji model.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { disposeStableDiffusion, generate, loadStableDiffusionPipeline, vaeScaleFactor } from "../../src/model/pipeline.js";

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../models/tiny-emoji");

export async function generateMsPerImage(images: number): Promise<number> {
  const model = await loadStableDiffusionPipeline(MODEL);
  const size = model.unet.config.sample_size * vaeScaleFactor(model.vae);
  const render = (seed: number) =>
    generate(model, { prompt: "a dog on a red background", seed, steps: 20, guidanceScale: 7.5, scheduler: "ddim", width: size, height: size });
  try {
    await render(0);
    const started = performance.now();
    for (let seed = 1; seed <= images; seed++) await render(seed);
    return (performance.now() - started) / images;
  } finally {
    disposeStableDiffusion(model);
  }
}
