/**
 * `npm run pretrain`: trains the embedded base model from scratch on CPU and writes it in the diffusers
 * layout. Stages run in order and each resumes from its checkpoint in the work folder, so the command
 * can be killed and started again at any time: `vae` (the autoencoder as a general emoji codec, on
 * scenes of every Noto emoji), `decoder` (decoder fine-tune on the frozen encoder's latents), `unet`
 * (UNet + text encoder on the 32 classes' scenes and their colour-jittered copies, exported as it
 * goes), `identifiers` (the UNet stage continued from the exported model, with unknown words before
 * some nouns so that a DreamBooth identifier starts with no meaning: unknown-words.ts). Everything is
 * seeded; the same flags (and the same `TRAIN_WORKERS`) give the same model.
 * Progress lines give s/step and ETA. The UNet stage trains data-parallel on every core (`TRAIN_WORKERS`
 * replicas, default one per core).
 *
 *   npm run pretrain -- [--vae-steps 4500] [--decoder-steps 2000] [--unet-steps 8000] [--batch-size 16]
 *                       [--jitter-copies 2] [--work .pretrain] [--out gpu-backend/models/tiny-emoji]
 *                       [--identifier-steps 1200] [--identifier-share 0.25] [--identifier-lr 2e-4] [--init <out>]
 *                       [--only vae|decoder|unet|identifiers|export]
 *
 * The UNet stage trains data-parallel on every core (`TRAIN_WORKERS` replicas, default one per core).
 * `--only decoder` and `--only unet` can also run side by side once the VAE stage is done (then give the
 * UNet stage `TRAIN_WORKERS=1` on two cores): the decoder fine-tune does not change the latents the UNet
 * learns, so the result is the same as in sequence (finish with `--only export` to write the model with
 * the fine-tuned decoder).
 */
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { tensor1d } from "@tensorflow/tfjs-core";
import { drawCodecScene } from "../src/emoji/codec-scenes.js";
import { renderScene } from "../src/emoji/compose.js";
import { loadPretrainingSet } from "../src/emoji/dataset.js";
import { emojiVaeConfig } from "../src/emoji/model-config.js";
import { AutoencoderKL } from "../src/model/vae.js";
import { loadWeights, saveWeights } from "../src/model/weights.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import type { Random } from "../src/tensor/random.js";
import { twemojiRoundTripPsnr } from "./codec-gate.js";
import { trainVae, type VaeStageOptions } from "./train-vae.js";
import { exportCheckpoint, trainUNet } from "./train-unet.js";

const { values } = parseArgs({
  options: {
    "vae-steps": { type: "string", default: "4500" },
    "decoder-steps": { type: "string", default: "2000" },
    "unet-steps": { type: "string", default: "8000" },
    "batch-size": { type: "string", default: "16" },
    "per-pair": { type: "string", default: "20" },
    "jitter-copies": { type: "string", default: "2" },
    "identifier-steps": { type: "string", default: "1200" },
    "identifier-share": { type: "string", default: "0.25" },
    "identifier-lr": { type: "string", default: "2e-4" },
    /** The exported model the identifier stage continues (default: --out, where the UNet stage exported it). */
    init: { type: "string" },
    seed: { type: "string", default: "20261202" },
    work: { type: "string", default: ".pretrain" },
    out: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    /** Run one stage alone (e.g. the decoder fine-tune next to a running UNet stage): vae | decoder | unet | identifiers | export. */
    only: { type: "string" },
  },
});
const exists = (file: string) => access(file).then(() => true, () => false);
/** How this sitting was started, for the model card (a resumed stage records its last sitting's command). */
const command = ["npm run pretrain --", ...process.argv.slice(2)].join(" ");
const seed = Number(values.seed);
const work = path.resolve(values.work!);
await mkdir(work, { recursive: true });
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });

/** Fresh scenes of any Noto emoji, drawn in order from the stage's generator, then rendered. */
const codecBatch = (random: Random, count: number) => {
  const scenes = Array.from({ length: count }, () => drawCodecScene(random, "google").scene);
  return Promise.all(scenes.map(renderScene));
};
/**
 * A fresh VAE's posterior starts with log-variance ≈ 0 (noise as large as the latents); start it at e⁻⁶ instead, so the
 * decoder learns from nearly deterministic latents from the first step (a checkpoint, when resumed, overwrites this).
 */
function startNearlyDeterministic(vae: AutoencoderKL) {
  const moments = vae.params.params.get(vae.quant_conv ? "quant_conv.bias" : "encoder.conv_out.bias")!.variable;
  const bias = Array.from(moments.dataSync());
  bias.fill(-6, bias.length / 2);
  moments.assign(tensor1d(bias));
}

/** Runs an autoencoder stage unless its facts file says it finished; records steps, final loss and seconds. */
async function autoencoderStage(name: "vae" | "vae-decoder", vae: AutoencoderKL, options: Omit<VaeStageOptions, "checkpointFile" | "checkpointEvery">) {
  const factsFile = path.join(work, `${name}-stage.json`);
  const weightsFile = path.join(work, `${name}.safetensors`);
  if (!(await exists(factsFile))) {
    const { finalLoss, seconds } = await trainVae(vae, codecBatch, {
      ...options,
      checkpointFile: path.join(work, `${name}-checkpoint.safetensors`),
      checkpointEvery: 25,
      evaluate: async () => `round-trip PSNR ${(await twemojiRoundTripPsnr(vae)).toFixed(2)} dB on held-out Twemoji`,
    });
    await saveWeights(vae.params, weightsFile);
    // seconds: the stage's training time over all its sittings (carried in its checkpoints).
    const facts = { command, steps: options.steps, batchSize: options.batchSize, learningRate: options.learningRate, gradientWeight: options.gradientWeight, klWeight: options.klWeight, data: "all Noto emoji (emoji-datasource-google), 8 backgrounds × 3 sizes, fresh scenes every step", finalLoss, seconds };
    await writeFile(factsFile, JSON.stringify(facts));
  }
  await loadWeights(vae.params, [weightsFile]);
}

const vae = new AutoencoderKL(emojiVaeConfig, { kind: "random", seed });
startNearlyDeterministic(vae);
// The recipe was chosen by 250-step trials on held-out Twemoji round-trip PSNR (load average ~2, two trials at a time):
// L1 + 1·gradient L1 + 10⁻³·KL at lr 2e-3 (the first v2 recipe) 11.7 dB; with KL 10⁻⁶ at lr 5e-4 15.9 dB; plain L1 at
// lr 2e-3 17.7 dB, at 5e-4 17.9 dB; L1 + 0.1·gradient L1 at lr 1e-3 18.3 dB. A KL of 10⁻³ (in these mean-per-element
// units ~10⁵ times SD's) also kept the posterior's noise at 0.58 of the latents' spread after 1500 steps, capping
// what any decoder can restore; at 10⁻⁶ the latents are nearly deterministic, as SD's are.
await autoencoderStage("vae", vae, { steps: Number(values["vae-steps"]), batchSize: 16, learningRate: 1e-3, klWeight: 1e-6, gradientWeight: 0.1, seed });
if (values.only === "vae") process.exit(0);

// The decoder fine-tune leaves the encoder (so the UNet's latents) untouched: it may also run alongside the UNet stage.
const decoderDone = await exists(path.join(work, "vae-decoder-stage.json"));
if (decoderDone || (values.only !== "export" && values.only !== "unet" && values.only !== "identifiers")) {
  await autoencoderStage("vae-decoder", vae, { steps: Number(values["decoder-steps"]), batchSize: 16, learningRate: 5e-4, klWeight: 0, gradientWeight: 0.1, seed: seed + 3, decoderOnly: true });
}
if (values.only === "decoder") process.exit(0);

const set = await loadPretrainingSet(seed, Number(values["per-pair"]));
await writeFile(path.join(work, "vocab.json"), JSON.stringify(set.vocabulary.vocab));
await writeFile(path.join(work, "merges.txt"), set.vocabulary.merges);
console.error(`pretraining set: ${set.images.length} images, ${Object.keys(set.vocabulary.vocab).length} tokens`);
if (values.only === "export") {
  vae.config.scaling_factor = (JSON.parse(await readFile(path.join(work, "unet-stage.json"), "utf8")) as { scalingFactor: number }).scalingFactor;
  await exportCheckpoint({ vae, set, work, out: path.resolve(values.out!) });
  process.exit(0);
}

const unetStage = {
  vae,
  set,
  work,
  out: path.resolve(values.out!),
  seed,
  batchSize: Number(values["batch-size"]),
  jitterCopies: Number(values["jitter-copies"]),
  command,
};
if (values.only !== "identifiers") await trainUNet({ ...unetStage, steps: Number(values["unet-steps"]) });
if (values.only === "unet") process.exit(0);
await trainUNet({
  ...unetStage,
  steps: Number(values["identifier-steps"]),
  identifiers: { init: path.resolve(values.init ?? values.out!), share: Number(values["identifier-share"]), baseLr: Number(values["identifier-lr"]) },
});
