/**
 * Class images for prior preservation. The frozen base model renders
 * `num_class_images` images of the class prompt before any weight changes;
 * the set is one tar bundle (PNGs plus a manifest) uploaded through the
 * `class-images` slot, which the Worker files under the cache key of
 * (base model, class prompt, count, resolution). A later job of the same class
 * arrives with `class_images.url` and skips rendering altogether.
 */
import { z } from "zod";
import type { TrainJob } from "../../../shared/job.js";
import { JobError } from "./errors.js";
import { shutdownError, type JobContext } from "./context.js";
import type { BaseModel } from "../dreambooth/base-model.js";
import { generate } from "../model/pipeline.js";
import { decodePng, encodePng, pixelsFromRgb, type Pixels } from "../dreambooth/images.js";
import { createTar, readTar } from "../dreambooth/tar.js";

const ManifestSchema = z.object({
  base_model: z.string(),
  prompt: z.string(),
  count: z.number().int().positive(),
  resolution: z.number().int().positive(),
  seeds: z.array(z.number().int()),
});

/** Guidance of class images: the pipeline default diffusers' DreamBooth script renders them with. */
const CLASS_IMAGE_GUIDANCE = 7.5;

export interface ClassImages {
  images: Pixels[];
  /** Whether they came from the cache (no rendering this job). */
  cached: boolean;
}

/** Seed of class image `index`: fixed per job seed, so a set is reproducible. */
export function classImageSeed(jobSeed: number, index: number): number {
  return (jobSeed + 1_000_003 * (index + 1)) % 2 ** 32;
}

export async function obtainClassImages(context: JobContext<TrainJob>, model: BaseModel): Promise<ClassImages> {
  const { job } = context;
  const { prior_preservation: prior, resolution, seed } = job.params;
  const cached = job.class_images;
  if (cached?.url) {
    const bytes = await context.fetchInput({ name: "the class-image bundle", url: cached.url, sha256: cached.sha256 });
    const images = await unpackBundle(bytes, { prompt: prior.class_prompt, count: prior.num_class_images, resolution });
    return { images, cached: true };
  }
  const images: Pixels[] = [];
  const pngs: Uint8Array[] = [];
  const seeds: number[] = [];
  for (let index = 0; index < prior.num_class_images; index++) {
    context.checkpoint();
    // One image takes seconds to minutes; a shutdown must not wait for the whole set.
    if (context.shutdownRequested) throw shutdownError();
    const imageSeed = classImageSeed(seed, index);
    const image = await generate(model, {
      prompt: prior.class_prompt,
      seed: imageSeed,
      steps: prior.class_image_steps,
      guidanceScale: CLASS_IMAGE_GUIDANCE,
      scheduler: "ddim",
      width: resolution,
      height: resolution,
      onProgress: () => context.checkpoint(),
    });
    images.push(pixelsFromRgb(image));
    pngs.push(await encodePng(image));
    seeds.push(imageSeed);
    context.events.progress({
      phase: "preparing",
      step: index + 1,
      total_steps: prior.num_class_images,
      message: `rendering class images of "${prior.class_prompt}"`,
    });
  }
  const manifest = { base_model: job.base_model, prompt: prior.class_prompt, count: images.length, resolution, seeds };
  const bundle = createTar([
    { name: "manifest.json", bytes: new TextEncoder().encode(JSON.stringify(manifest)) },
    ...pngs.map((bytes, index) => ({ name: `${String(index).padStart(4, "0")}.png`, bytes })),
  ]);
  await context.uploads.upload({
    name: "class-images",
    bytes: bundle,
    contentType: "application/x-tar",
    format: "class-images",
    meta: { cache_key: cached?.cache_key ?? "", count: images.length, resolution, prompt: prior.class_prompt },
  });
  return { images, cached: false };
}

export async function unpackBundle(
  bundle: Uint8Array,
  expected: { prompt: string; count: number; resolution: number },
): Promise<Pixels[]> {
  let entries;
  try {
    entries = readTar(bundle);
  } catch (error) {
    throw new JobError("class_images_invalid", `the cached class-image bundle is unreadable: ${(error as Error).message}`, true);
  }
  const manifestEntry = entries.find((entry) => entry.name === "manifest.json");
  const manifest = manifestEntry && ManifestSchema.safeParse(JSON.parse(new TextDecoder().decode(manifestEntry.bytes)));
  if (!manifest?.success) throw new JobError("class_images_invalid", "the cached class-image bundle has no valid manifest", true);
  const { count, resolution } = manifest.data;
  if (count < expected.count || resolution !== expected.resolution) {
    throw new JobError(
      "class_images_invalid",
      `the cached class-image bundle holds ${count} images at ${resolution}px, the job needs ${expected.count} at ${expected.resolution}px`,
      true,
    );
  }
  const pngs = entries.filter((entry) => entry.name.endsWith(".png")).slice(0, expected.count);
  return Promise.all(pngs.map((entry) => decodePng(entry.bytes)));
}
