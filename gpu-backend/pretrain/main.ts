/**
 * `npm run pretrain`: trains the embedded base model from scratch on CPU and writes it in the diffusers
 * layout. Stages run in order and each resumes from its checkpoint in the work folder, so the command
 * can be killed and started again at any time: `vae` (autoencoder), `decoder` (decoder fine-tune on the
 * frozen encoder's latents), `unet` (UNet + text encoder on those latents, exported as it goes).
 * Everything is seeded; the same flags (and the same `TRAIN_WORKERS`) give the same model.
 *
 *   npm run pretrain -- [--vae-steps 2000] [--decoder-steps 1500] [--unet-steps 5000] [--batch-size 16]
 *                       [--work .pretrain] [--out gpu-backend/models/tiny-emoji] [--only vae|decoder|unet|export]
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
import { loadPretrainingSet } from "../src/emoji/dataset.js";
import { emojiVaeConfig } from "../src/emoji/model-config.js";
import { AutoencoderKL } from "../src/model/vae.js";
import { loadWeights, saveWeights } from "../src/model/weights.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { trainVae } from "./train-vae.js";
import { exportCheckpoint, trainUNet } from "./train-unet.js";

const { values } = parseArgs({
  options: {
    "vae-steps": { type: "string", default: "2000" },
    "unet-steps": { type: "string", default: "5000" },
    "batch-size": { type: "string", default: "16" },
    "per-pair": { type: "string", default: "20" },
    seed: { type: "string", default: "20261126" },
    work: { type: "string", default: ".pretrain" },
    out: { type: "string", default: "gpu-backend/models/tiny-emoji" },
    "decoder-steps": { type: "string", default: "1500" },
    /** Run one stage alone (e.g. the decoder fine-tune next to a running UNet stage): vae | decoder | unet | export. */
    only: { type: "string" },
  },
});
const exists = (file: string) => access(file).then(() => true, () => false);
const seed = Number(values.seed);
const work = path.resolve(values.work!);
await mkdir(work, { recursive: true });
await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "wasm" });

const set = await loadPretrainingSet(seed, Number(values["per-pair"]));
await writeFile(path.join(work, "vocab.json"), JSON.stringify(set.vocabulary.vocab));
await writeFile(path.join(work, "merges.txt"), set.vocabulary.merges);
console.error(`pretraining set: ${set.images.length} images, ${Object.keys(set.vocabulary.vocab).length} tokens`);

const vae = new AutoencoderKL(emojiVaeConfig, { kind: "random", seed });
const vaeFile = path.join(work, "vae.safetensors");
const vaeFacts = path.join(work, "vae-stage.json");
if (!(await exists(vaeFacts))) {
  const started = Date.now();
  const vaeLoss = await trainVae(vae, set.images, {
  steps: Number(values["vae-steps"]),
  batchSize: 16,
  learningRate: 2e-3,
  klWeight: 1e-3,
  seed,
  checkpointFile: path.join(work, "vae-checkpoint.safetensors"),
  checkpointEvery: 25,
  });
  await saveWeights(vae.params, vaeFile);
  // seconds: this process's time in the stage (a resumed stage counts only its last run).
  await writeFile(vaeFacts, JSON.stringify({ steps: Number(values["vae-steps"]), finalLoss: vaeLoss, seconds: Math.round((Date.now() - started) / 1000) }));
}
await loadWeights(vae.params, [vaeFile]);
if (values.only === "vae") process.exit(0);

// The decoder fine-tune leaves the encoder (so the UNet's latents) untouched: it may also run alongside the UNet stage.
const decoderFile = path.join(work, "vae-decoder.safetensors");
const decoderStage = async () => {
  const started = Date.now();
  const loss = await trainVae(vae, set.images, {
    steps: Number(values["decoder-steps"]),
    batchSize: 16,
    learningRate: 1e-3,
    klWeight: 0,
    seed: seed + 3,
    checkpointFile: path.join(work, "vae-decoder-checkpoint.safetensors"),
    checkpointEvery: 25,
    decoderOnly: true,
  });
  await saveWeights(vae.params, decoderFile);
  await writeFile(path.join(work, "vae-decoder-stage.json"), JSON.stringify({ steps: Number(values["decoder-steps"]), finalLoss: loss, seconds: Math.round((Date.now() - started) / 1000) }));
};
if (await exists(path.join(work, "vae-decoder-stage.json"))) await loadWeights(vae.params, [decoderFile]);
else if (values.only !== "export" && values.only !== "unet") await decoderStage();
if (values.only === "decoder") process.exit(0);
if (values.only === "export") {
  vae.config.scaling_factor = (JSON.parse(await readFile(path.join(work, "unet-stage.json"), "utf8")) as { scalingFactor: number }).scalingFactor;
  await exportCheckpoint({ vae, set, work, out: path.resolve(values.out!) });
  process.exit(0);
}

await trainUNet({ vae, set, work, out: path.resolve(values.out!), seed, steps: Number(values["unet-steps"]), batchSize: Number(values["batch-size"]) });
