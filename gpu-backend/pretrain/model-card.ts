/**
 * `npm run pretrain:card`: writes the model card (README.md of the model folder) from the facts the
 * other steps left there — training.json (pretraining), judge/config.json (the judge's validation),
 * quality-gate.json (held-out prompts) and, when present, benchmark/table.md — so the card never
 * quotes a number by hand.
 */
import { access, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZES } from "../src/emoji/catalog.js";
import { emojiTextConfig, emojiUNetConfig, emojiVaeConfig } from "../src/emoji/model-config.js";

const { values } = parseArgs({ options: { model: { type: "string", default: "gpu-backend/models/tiny-emoji" }, work: { type: "string", default: ".pretrain" } } });
const dir = values.model!;
const exists = (file: string) => access(file).then(() => true, () => false);
const json = async (file: string) => ((await exists(file)) ? JSON.parse(await readFile(file, "utf8")) : undefined);
const training = await json(path.join(dir, "training.json"));
const judge = await json(path.join(dir, "judge", "config.json"));
const gate = await json(path.join(dir, "quality-gate.json"));
const vaeStage = training?.vae ?? (await json(path.join(values.work!, "vae-stage.json")));
const decoderStage = training?.decoder;
const minutes = (seconds: number | undefined) => (seconds ? ` (${Math.round(seconds / 60)} min)` : "");
const table = (await exists(path.join(dir, "benchmark", "table.md"))) ? await readFile(path.join(dir, "benchmark", "table.md"), "utf8") : undefined;
const results = await json(path.join(dir, "benchmark", "results.json"));
const settings = results?.parts?.[0]?.settings;
const example = (await exists(path.join(dir, "benchmark", "example.png"))) ? "![twemoji dog, full fine-tune with prior preservation: photos, class images, then one row per prompt](benchmark/example.png)" : "";
/** The paper's Table 3 claims, checked on the means (lower PRES and higher DIV with prior; fidelity above base). */
function claims(): string {
  const reports = results?.reports as Record<string, { subject_fidelity: number; prior_preservation_similarity: number; diversity: number }[]> | undefined;
  if (!reports) return "";
  const mean = (label: string, key: "subject_fidelity" | "prior_preservation_similarity" | "diversity") =>
    reports[label].reduce((sum, r) => sum + r[key], 0) / reports[label].length;
  const lines = (["full", "LoRA"] as const).map((method) => {
    const [without, withPrior] = [`${method}, no prior`, `${method}, prior λ=1`];
    if (!reports[without] || !reports[withPrior]) return "";
    const pres = [mean(without, "prior_preservation_similarity"), mean(withPrior, "prior_preservation_similarity")];
    const div = [mean(without, "diversity"), mean(withPrior, "diversity")];
    return `- ${method}: PRES ${pres[0].toFixed(3)} → ${pres[1].toFixed(3)} with prior preservation (${pres[1] < pres[0] ? "down, as in the paper" : "not down"}); DIV ${div[0].toFixed(3)} → ${div[1].toFixed(3)} (${div[1] > div[0] ? "up, as in the paper" : "not up"}).`;
  });
  const base = reports["base (no training)"] ? mean("base (no training)", "subject_fidelity") : NaN;
  const trained = Object.keys(reports).filter((label) => label !== "base (no training)").map((label) => `${label} ${mean(label, "subject_fidelity").toFixed(3)}`);
  const best = Math.max(...Object.keys(reports).filter((label) => label !== "base (no training)").map((label) => mean(label, "subject_fidelity")));
  const verdict = best - base > 0.1 ? "well above the base model, as in the paper" : `at most ${(best - base).toFixed(3)} above the base model: the identifier binds the subject only weakly on this base model (its blurred renders already share the subject's colours)`;
  return [...lines, `- subject fidelity: base ${base.toFixed(3)}; ${trained.join(", ")} — ${verdict}.`].join("\n");
}
const bytes = async (relative: string) => (await stat(path.join(dir, relative))).size;
const weightFiles = ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors", "judge/model.safetensors"];
const sizes = await Promise.all(weightFiles.map(bytes));
const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
const losses: { step: number; loss: number }[] = training?.losses ?? [];
const curve = losses.filter((_, i) => i % Math.max(1, Math.ceil(losses.length / 8)) === 0 || i === losses.length - 1);

const card = `# tiny-emoji — the embedded base model

A Stable Diffusion 1.x pipeline (AutoencoderKL + CLIP text encoder + UNet2DConditionModel, diffusers
layout, safetensors) at a size that is **pretrained from scratch on two CPU cores** by
\`npm run pretrain\`. It is what the service uses when no real Stable Diffusion weights are installed,
and the base model of the DreamBooth benchmark (\`npm run bench:dreambooth\`). It is a toy: 32×32
images of ${EMOJI_CLASSES.length} emoji on flat backgrounds. Licence: Apache-2.0 (see LICENSE, NOTICE).

## Data

Noto Color Emoji images (Apache-2.0, from the npm package \`emoji-datasource-google\`) of
${EMOJI_CLASSES.length} nouns (${EMOJI_CLASSES.map((c) => c.noun).join(", ")}), composed at random
positions on ${BACKGROUND_NAMES.length} flat backgrounds (${BACKGROUND_NAMES.join(", ")}) at three sizes
(small ${SIZES.small.join("–")} px, unmarked ${SIZES[""].join("–")} px, big ${SIZES.big.join("–")} px).
Captions say what the image shows: "a photo of a small dog on a blue background", "a cat", …; one
background per class is held out of training (class *i* never appears on colour *i* mod 8) to test
unseen combinations. ${training ? `${training.images} images, seed ${training.seed}; one in ten also trained with the empty caption (for classifier-free guidance).` : ""}

## Architecture

| network | config | parameters (file) |
|---|---|---|
| VAE | ${emojiVaeConfig.block_out_channels.join("/")} channels, ${emojiVaeConfig.block_out_channels.length} levels (32×32×3 ↔ 8×8×${emojiVaeConfig.latent_channels}), no mid attention | ${(sizes[1] / 4 / 1e3).toFixed(0)} k (${(sizes[1] / 1e6).toFixed(2)} MB) |
| text encoder | CLIP, ${emojiTextConfig(1).num_hidden_layers} layers × ${emojiTextConfig(1).hidden_size}, ${emojiTextConfig(1).max_position_embeddings} tokens, BPE vocabulary learned from the captions | ${(sizes[2] / 4 / 1e3).toFixed(0)} k (${(sizes[2] / 1e6).toFixed(2)} MB) |
| UNet | ${emojiUNetConfig.block_out_channels.join("/")} channels, cross-attention at both levels, ${emojiUNetConfig.attention_head_dim} heads | ${(sizes[0] / 4 / 1e6).toFixed(2)} M (${(sizes[0] / 1e6).toFixed(2)} MB) |
| scheduler | SD1.5's (scaled-linear β, 1000 steps, ε-prediction); samples with DDIM | |

## Training (\`npm run pretrain\`, tfjs wasm backend, one thread per stage, on a 2-core machine)

${vaeStage ? `- VAE: ${vaeStage.steps} steps of batch 16${minutes(vaeStage.seconds)}, L1 + 10⁻³·KL, AdamW lr 2·10⁻³ cosine; final L1 ${vaeStage.finalLoss.toFixed(3)} (in [-1, 1] units).` : ""}
${decoderStage ? `- Decoder fine-tune (encoder frozen, so the UNet's latents do not move; run beside the UNet stage on the second core): ${decoderStage.steps} steps of batch 16${minutes(decoderStage.seconds)}, L1, lr 10⁻³ cosine; final L1 ${decoderStage.finalLoss.toFixed(3)}.` : ""}
${training ? `- UNet + text encoder together: ${training.steps} of ${training.plannedSteps} planned steps of batch ${training.batchSize}${minutes(training.seconds)}, AdamW (lr 10⁻³ cosine, warmup 100, weight decay 10⁻²), min-SNR γ 5, horizontal flips; latent scaling factor ${training.scalingFactor}.` : ""}
${curve.length > 0 ? `- ε-prediction loss (smoothed): ${curve.map((point) => `step ${point.step}: ${point.loss.toFixed(3)}`).join(", ")}.` : ""}

## Quality gate (\`npm run pretrain:gate\`)

${gate ? `For each class on its **held-out** background ("a dog on a red background", never seen together) the model renders ${gate.imagesPerPrompt} images (DDIM ${gate.sampling.steps} steps, guidance ${gate.sampling.guidance_scale}); the judge names class and background.

| prompts | class accuracy | background accuracy |
|---|---|---|
| held-out pairs ("a dog on a red background", never seen together) | ${percent(gate.classAccuracy)} | ${percent(gate.backgroundAccuracy)} |
${gate.seen ? `| control: pairs seen in pretraining | ${percent(gate.seen.classAccuracy)} | ${percent(gate.seen.backgroundAccuracy)} |\n| control: the class alone ("a photo of a dog") | ${percent(gate.classOnly.classAccuracy)} | — |\n` : ""}| chance | ${percent(gate.classChance)} | ${percent(gate.backgroundChance)} |

![one row per class (the first 16): 3 seeds each of the held-out pair, a seen pair, the class alone](quality-gate.png)` : "Not measured yet."}

## The judge (\`judge/\`, \`npm run pretrain:judge\`)

A 4-conv CNN trained on freshly composed scenes of the same data (all class × background × size
combinations) with three heads (class, background, size), each scene seen both as drawn and as this
model's VAE returns it (encode → decode), since every image it grades comes out of that decoder. It
stands in for DINO and CLIP in the benchmark and in each training's \`reports/quality.json\`. ${judge?.training ? `Validation accuracy on scenes from another seed (${judge.training.steps} steps): class ${percent(judge.training.validationAccuracy.class)}, background ${percent(judge.training.validationAccuracy.background)}, size ${percent(judge.training.validationAccuracy.size)} as drawn${judge.training.validationAccuracyVaeRoundTrip ? `; after a VAE round trip class ${percent(judge.training.validationAccuracyVaeRoundTrip.class)}, background ${percent(judge.training.validationAccuracyVaeRoundTrip.background)}, size ${percent(judge.training.validationAccuracyVaeRoundTrip.size)} — the ceiling for any generated image, set by the VAE` : ""}.` : ""}

## DreamBooth benchmark (\`npm run bench:dreambooth\`)

${settings ? `Subjects: Twemoji ${[...new Set((results.parts as { settings: { subjects: string } }[]).map((part) => part.settings.subjects))].join(", ")} (${settings.photos} composed photos each), training seeds ${settings.trainingSeeds.join(", ")}, ${settings.steps} steps of batch 1 (+1 class image per step with prior preservation, ${settings.classImages} class images rendered by the base model), lr ${settings.fullLr} full / ${settings.loraLr} LoRA (rank 4), text encoder frozen; every run sampled with the same seeds (${settings.evaluation.seeds.join(", ")}), DDIM ${settings.evaluation.steps} steps, guidance ${settings.evaluation.guidanceScale}. Mean ± standard deviation over subjects × training seeds.${results.wall ? ` The whole benchmark took ${results.wall.minutes.toFixed(1)} min on ${results.wall.processes} processes (one core each).` : ""}` : ""}

${table ?? "Not run yet."}

${claims()}

${example}

## Limitations (read before trusting the numbers)

- A toy by design: 32×32 images, ${EMOJI_CLASSES.length} classes, flat backgrounds, ${(sizes.slice(0, 3).reduce((a, b) => a + b, 0) / 4e6).toFixed(1)} M parameters, trained on two CPU cores.
- The VAE compresses 4× per side (8×8×4 latents) and was trained with an L1 loss only (no perceptual or
  adversarial term as SD's had), so small emoji come back blurred.${judge?.training?.validationAccuracyVaeRoundTrip ? ` The judge names the class of ${percent(judge.training.validationAccuracyVaeRoundTrip.class)} of VAE round trips of real scenes: no generated image can be expected to do better.${gate ? ` Generations reach ${percent(gate.classAccuracy)} on the gate, far below that ceiling, so the UNet (${(sizes[0] / 4e6).toFixed(1)} M parameters, ${training?.steps ?? "?"} steps) is what limits class fidelity now; backgrounds it gets right.` : ""}` : ""}
- The judge is trained on the same emoji as the model and stands in for DINO/CLIP; the benchmark's numbers
  compare runs of this model with each other, not with the paper's DreamBench figures.
- The benchmark is small (${settings ? `${[...new Set((results.parts as { settings: { subjects: string } }[]).map((part) => part.settings.subjects))].length} subjects × ${settings.trainingSeeds.length} training seeds` : "two subjects × two seeds"}): read differences smaller than the spreads as noise.

Weights in total: ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(2)} MB.
`;
await writeFile(path.join(dir, "README.md"), card.replace(/\n{3,}/g, "\n\n"));
console.log(`wrote ${path.join(dir, "README.md")}`);
