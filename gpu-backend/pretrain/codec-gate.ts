/**
 * The autoencoder's half of the pretraining gate, on Twemoji drawings no stage ever trained on:
 *   - round-trip PSNR on scenes of any Twemoji emoji (how much of an unseen drawing the codec keeps);
 *   - the judge's class accuracy on Twemoji scenes of the 32 classes after a round trip (does a
 *     subject of another vendor still look like its class once it has been through the codec).
 * Both scene sets follow from fixed seeds, so two VAEs are measured on exactly the same images.
 */
import { pixelsBatch } from "../src/dreambooth/images.js";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZE_WORDS } from "../src/emoji/catalog.js";
import { heldOutCodecScenes } from "../src/emoji/codec-scenes.js";
import { renderScene } from "../src/emoji/compose.js";
import { drawScene } from "../src/emoji/scenes.js";
import type { AutoencoderKL } from "../src/model/vae.js";
import type { Judge } from "../src/quality/judge.js";
import { accuracy, argmaxRows } from "../src/quality/metrics.js";
import { psnr, vaeRoundTrip } from "../src/quality/vae-round-trip.js";
import { Random } from "../src/tensor/random.js";
import { tidyValues } from "../src/tensor/tidy-values.js";

export const CODEC_GATE_SCENES = { seed: 4242, count: 512 };

/** PSNR (dB) of the VAE's round trip on the held-out Twemoji scenes. */
export async function twemojiRoundTripPsnr(vae: AutoencoderKL): Promise<number> {
  const scenes = heldOutCodecScenes(new Random(CODEC_GATE_SCENES.seed), CODEC_GATE_SCENES.count);
  const images = await Promise.all(scenes.map(({ scene }) => renderScene(scene)));
  return psnr(images, vaeRoundTrip(vae, images));
}

/** The judge's class accuracy on every Twemoji class drawing × background × size, after the VAE's round trip. */
export async function twemojiClassAccuracyAfterRoundTrip(vae: AutoencoderKL, judge: Judge): Promise<number> {
  const random = new Random(CODEC_GATE_SCENES.seed + 1);
  const labelled = EMOJI_CLASSES.flatMap(({ file }, classIndex) =>
    BACKGROUND_NAMES.flatMap((background) => SIZE_WORDS.map((sizeWord) => ({ scene: drawScene(random, "twitter", file, background, sizeWord), classIndex }))),
  );
  const images = vaeRoundTrip(vae, await Promise.all(labelled.map(({ scene }) => renderScene(scene))));
  const predicted: number[] = [];
  for (let start = 0; start < images.length; start += 128) {
    const logits = tidyValues(() => judge.forward(pixelsBatch(images.slice(start, start + 128))).classLogits);
    predicted.push(...argmaxRows(logits, judge.config.classes.length));
  }
  return accuracy(predicted, labelled.map(({ classIndex }) => classIndex));
}
