/**
 * DreamBench on one subject: render the subject in new contexts ("a sks dog on a red background"),
 * with a changed property ("a big sks dog") and the plain class prompt ("a dog"), then let the judge
 * score the renders against the subject's photos. The same function writes a training's
 * `reports/quality.json` in the service and each row of `npm run bench:dreambooth`, so both report
 * the same numbers for the same weights. Prompts use only words the judge was trained to read.
 *
 * Generations are scored against the photos as the model's VAE returns them (no generation can be
 * sharper than its decoder), and subject fidelity is also given normalised between two bounds
 * measured the same way: the class prior (the base model's own drawing of the class in the prompts'
 * scenes, class-prior-scenes.ts) and the ceiling (the round-tripped photos against each other).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { QualityPromptResult, QualityReport } from "../../../shared/quality.js";
import { pixelsBatch, type Pixels } from "../dreambooth/images.js";
import type { StableDiffusion } from "../model/pipeline.js";
import type { SchedulerName } from "../model/schedulers/index.js";
import { renderBatch } from "./batch-render.js";
import type { Judge } from "./judge.js";
import { classPriorScenes } from "./class-prior-scenes.js";
import { argmaxRows, meanCrossCosine, meanOffDiagonalCosine, meanPairwiseDistance, normalisedFidelity, type FidelityBounds } from "./metrics.js";
import { maskedPool, normalise, subjectDescriptor, subjectHistogram, subjectMask } from "./subject-features.js";
import { vaeRoundTrip } from "./vae-round-trip.js";
import type { SizeWord } from "../emoji/catalog.js";

export interface EvaluationOptions {
  seeds: number[];
  steps: number;
  guidanceScale: number;
  scheduler: Exclude<SchedulerName, "ddpm">;
  /** Backgrounds of the recontextualisation prompts (judge label names). */
  backgrounds: string[];
}

export const DEFAULT_EVALUATION: EvaluationOptions = {
  seeds: [11, 12, 13],
  steps: 20,
  guidanceScale: 4,
  scheduler: "ddim",
  backgrounds: ["red", "blue", "yellow"],
};

export interface Sample {
  prompt: string;
  seed: number;
  pixels: Pixels;
}

interface PromptSpec {
  prompt: string;
  kind: QualityPromptResult["kind"];
  /** Which judge head checks the context, and the label it should give. */
  head: "backgroundLogits" | "sizeLogits" | "classLogits";
  label: number;
}

export function evaluationPrompts(judge: Judge, subject: { identifier: string; class_noun: string }, backgrounds: string[]): PromptSpec[] {
  const { classes, backgrounds: backgroundNames, sizes } = judge.config;
  const classIndex = classes.indexOf(subject.class_noun);
  if (classIndex < 0) throw new Error(`the judge does not know the class "${subject.class_noun}"`);
  const thing = `${subject.identifier} ${subject.class_noun}`;
  return [
    ...backgrounds.map((background) => ({
      prompt: `a ${thing} on a ${background} background`,
      kind: "recontextualization" as const,
      head: "backgroundLogits" as const,
      label: backgroundNames.indexOf(background),
    })),
    ...sizes
      .filter((size) => size !== "")
      .map((size) => ({ prompt: `a ${size} ${thing}`, kind: "property" as const, head: "sizeLogits" as const, label: sizes.indexOf(size) })),
    { prompt: `a ${subject.class_noun}`, kind: "class", head: "classLogits", label: classIndex },
  ];
}

interface Judged {
  subject: Float32Array[];
  scene: Float32Array[];
  predicted: Record<PromptSpec["head"], number[]>;
}

function judgeImages(judge: Judge, images: Pixels[]): Judged {
  const { width } = images[0];
  const batch = pixelsBatch(images);
  const out = judge.forward(batch);
  const masks = images.map(subjectMask);
  // A judge with an identity head describes the individual drawing directly; otherwise shape features and colours.
  const embeddings = out.identityEmbedding?.dataSync();
  const embeddingSize = out.identityEmbedding?.shape[1] ?? 0;
  const pooled = embeddings ? [] : maskedPool(out.featureMap, masks, width);
  const subject = images.map((image, i) =>
    embeddings
      ? normalise(Float32Array.from(embeddings.subarray(i * embeddingSize, (i + 1) * embeddingSize)))
      : subjectDescriptor(pooled[i], subjectHistogram(image, masks[i])),
  );
  const mapSize = out.featureMap.size / images.length;
  const mapValues = out.featureMap.dataSync();
  const scene = images.map((_, i) => normalise(Float32Array.from(mapValues.subarray(i * mapSize, (i + 1) * mapSize))));
  const predicted = {
    backgroundLogits: argmaxRows(out.backgroundLogits.dataSync(), judge.config.backgrounds.length),
    sizeLogits: argmaxRows(out.sizeLogits.dataSync(), judge.config.sizes.length),
    classLogits: argmaxRows(out.classLogits.dataSync(), judge.config.classes.length),
  };
  tf.dispose([batch, ...Object.values(out)]);
  return { subject, scene, predicted };
}

/**
 * s_prior and s_ceiling for one subject (undefined when the class has no drawing of the base model's
 * own, or a single photo leaves no pair to measure the ceiling on). A judge that cannot tell the
 * subject from its class may give a ceiling at or below the prior: the bounds are still reported, the
 * normalised score is not.
 */
async function fidelityBounds(
  model: StableDiffusion,
  judge: Judge,
  real: Float32Array[],
  classNoun: string,
  specs: PromptSpec[],
  options: EvaluationOptions,
): Promise<FidelityBounds | undefined> {
  const sizeWords = specs.filter((spec) => spec.kind === "property").map((spec) => judge.config.sizes[spec.label] as SizeWord);
  const drawings = await classPriorScenes(classNoun, options.backgrounds, sizeWords, options.seeds.length);
  if (!drawings || real.length < 2) return undefined;
  const prior = meanCrossCosine(judgeImages(judge, vaeRoundTrip(model.vae, drawings)).subject, real);
  const ceiling = meanOffDiagonalCosine(real);
  return { prior, ceiling };
}

export async function evaluateSubject(
  model: StableDiffusion,
  judge: Judge,
  photos: Pixels[],
  subject: { identifier: string; class_noun: string },
  baseModel: string,
  options: EvaluationOptions = DEFAULT_EVALUATION,
): Promise<{ report: QualityReport; samples: Sample[] }> {
  const resolution = photos[0].width;
  const specs = evaluationPrompts(judge, subject, options.backgrounds);
  const requests = specs.flatMap((spec) => options.seeds.map((seed) => ({ prompt: spec.prompt, seed })));
  const images = renderBatch(model, { requests, steps: options.steps, guidanceScale: options.guidanceScale, scheduler: options.scheduler, resolution });
  const samples: Sample[] = requests.map((request, i) => ({ ...request, pixels: images[i] }));
  const real = judgeImages(judge, vaeRoundTrip(model.vae, photos)).subject;
  const bounds = await fidelityBounds(model, judge, real, subject.class_noun, specs, options);
  const judged = judgeImages(judge, samples.map((sample) => sample.pixels));
  const perSeed = options.seeds.length;
  const prompts: QualityPromptResult[] = specs.map((spec, p) => {
    const range = [p * perSeed, (p + 1) * perSeed];
    const subjects = judged.subject.slice(range[0], range[1]);
    const predictions = judged.predicted[spec.head].slice(range[0], range[1]);
    return {
      prompt: spec.prompt,
      kind: spec.kind,
      images: perSeed,
      subject_fidelity: meanCrossCosine(subjects, real),
      prompt_fidelity: predictions.filter((label) => label === spec.label).length / perSeed,
      diversity: perSeed > 1 ? meanPairwiseDistance(judged.scene.slice(range[0], range[1])) : 0,
    };
  });
  const subjectPrompts = prompts.filter((result) => result.kind !== "class");
  const classPrompt = prompts.find((result) => result.kind === "class")!;
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const report: QualityReport = {
    version: 1,
    base_model: baseModel,
    subject,
    subject_fidelity: mean(subjectPrompts.map((result) => result.subject_fidelity)),
    ...(bounds ? { fidelity_bounds: bounds } : {}),
    ...(bounds && bounds.ceiling > bounds.prior
      ? { subject_fidelity_normalized: normalisedFidelity(mean(subjectPrompts.map((result) => result.subject_fidelity)), bounds) }
      : {}),
    prompt_fidelity: mean(subjectPrompts.map((result) => result.prompt_fidelity)),
    prior_preservation_similarity: classPrompt.subject_fidelity,
    class_recognized: classPrompt.prompt_fidelity,
    diversity: mean(subjectPrompts.map((result) => result.diversity)),
    judge: {
      name: "tiny-emoji judge",
      note: "a CNN trained on the base model's pretraining scenes stands in for DINO/CLIP; numbers compare runs of this model only",
    },
    sampling: { scheduler: options.scheduler, steps: options.steps, guidance_scale: options.guidanceScale, seeds: options.seeds },
    prompts,
  };
  return { report, samples };
}
