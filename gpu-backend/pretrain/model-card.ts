/**
 * `npm run pretrain:card`: writes the model card (README.md of the model folder) from the facts the
 * other steps left there — the networks' config.json files, training.json (pretraining stages, their
 * steps, losses and times), judge/config.json (the judge's validation), quality-gate.json (the gates)
 * and, when present, benchmark/summary.json and table.md — so the card never quotes a number by hand.
 */
import { access, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { BACKGROUND_NAMES, EMOJI_CLASSES, SIZES } from "../src/emoji/catalog.js";
import { vendorEmojiFiles } from "../src/emoji/codec-scenes.js";
import { benchmarkOutcomes } from "../bench/dreambooth/outcomes.js";
import { boundsLines, type BenchmarkSummary } from "../bench/dreambooth/summary.js";
import type { GateVerdict } from "./gates.js";

const { values } = parseArgs({ options: { model: { type: "string", default: "gpu-backend/models/tiny-emoji" } } });
const dir = values.model!;
const exists = (file: string) => access(file).then(() => true, () => false);
const json = async (file: string) => ((await exists(path.join(dir, file))) ? JSON.parse(await readFile(path.join(dir, file), "utf8")) : undefined);
const [training, judge, gate, vaeConfig, unetConfig, textConfig] = await Promise.all(
  ["training.json", "judge/config.json", "quality-gate.json", "vae/config.json", "unet/config.json", "text_encoder/config.json"].map(json),
);
const summary = (await json("benchmark/summary.json")) as BenchmarkSummary | undefined;
const table = (await exists(path.join(dir, "benchmark", "table.md"))) ? await readFile(path.join(dir, "benchmark", "table.md"), "utf8") : undefined;
const results = await json("benchmark/results.json");
const settings = results?.parts?.[0]?.settings;
const example = (await exists(path.join(dir, "benchmark", "runs.png")))
  ? "![the first subject of `--subjects` (dog by default): its photos, then one row per prompt, one column per run (training seed 1, first sampling seed)](benchmark/runs.png)"
  : "";

const minutes = (seconds: number | undefined) => (seconds ? ` (${Math.round(seconds / 60)} min)` : "");

/** A judge's `training.init` chain (`--init` runs record the judge they continued), oldest last. */
interface JudgeInit {
  from: string;
  steps?: number;
  seconds?: number;
  classScenes?: string;
  init?: JudgeInit;
}
const judgeAncestry = (init: JudgeInit | undefined): string =>
  init
    ? `, continued from a judge trained ${init.steps} steps${minutes(init.seconds)} on ${init.classScenes ?? "one drawing per class"} (\`${init.from}\`)${judgeAncestry(init.init)}`
    : "";
const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
const weightFiles = ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors", "judge/model.safetensors"];
const sizes = await Promise.all(weightFiles.map(async (file) => ((await exists(path.join(dir, file))) ? (await stat(path.join(dir, file))).size : 0)));
/** Parameter count from a file's bytes and its first tensor's dtype (F16 weights are 2 bytes each). */
async function parameters(file: string, bytes: number): Promise<number> {
  if (bytes === 0) return 0;
  const handle = await readFile(path.join(dir, file));
  const headerLength = Number(handle.readBigUInt64LE(0));
  const header = JSON.parse(handle.subarray(8, 8 + headerLength).toString()) as Record<string, { dtype?: string; shape?: number[] }>;
  return Object.values(header).reduce((sum, tensor) => sum + (tensor.shape ? tensor.shape.reduce((a, b) => a * b, 1) : 0), 0);
}
const counts = await Promise.all(weightFiles.map((file, i) => parameters(file, sizes[i])));
const losses: { step: number; loss: number }[] = training?.losses ?? [];
/** The identifier stage's facts (train-unet.ts), when the model went through it. */
const identifierStage = training?.identifiers as
  | { steps: number; plannedSteps: number; batchSize: number; seconds?: number; baseLr: number; share: number; reserved: string[]; losses: { loss: number }[]; command?: string }
  | undefined;
const curve = losses.filter((_, i) => i % Math.max(1, Math.ceil(losses.length / 8)) === 0 || i === losses.length - 1);
const latent = vaeConfig ? `${32 / 2 ** (vaeConfig.block_out_channels.length - 1)}×${32 / 2 ** (vaeConfig.block_out_channels.length - 1)}×${vaeConfig.latent_channels}` : "?";
const commandOf = (facts: { command?: string } | undefined) => (facts?.command ? ` Command: \`${facts.command}\`.` : "");
const stage = (name: string, facts: { command?: string; steps: number; batchSize?: number; seconds?: number; finalLoss: number; learningRate?: number; gradientWeight?: number; klWeight?: number } | undefined) =>
  facts
    ? `- ${name}: ${facts.steps} steps of batch ${facts.batchSize ?? 16}${minutes(facts.seconds)}, L1${facts.gradientWeight ? ` + ${facts.gradientWeight}·L1 of image gradients` : ""}${name === "VAE" ? ` + ${facts.klWeight ?? 1e-3}·KL` : ""}, AdamW lr ${facts.learningRate ?? "?"} cosine; final loss ${facts.finalLoss.toFixed(3)} (in [-1, 1] units).${commandOf(facts)}`
    : "";
const verdicts: GateVerdict[] = gate?.verdicts ?? [];

const card = `# tiny-emoji — the embedded base model

A Stable Diffusion 1.x pipeline (AutoencoderKL + CLIP text encoder + UNet2DConditionModel, diffusers
layout, F16 safetensors that load as float32) at a size that is **pretrained from scratch on two CPU
cores** by \`npm run pretrain\`. It is what the service uses when no real Stable Diffusion weights are
installed, and the base model of the DreamBooth benchmark (\`npm run bench:dreambooth\`). It is a toy:
32×32 images of ${EMOJI_CLASSES.length} emoji on flat backgrounds. Licence: Apache-2.0, the judge CC BY-SA 4.0 (see LICENSE, NOTICE).

## Data

- **Autoencoder**: every Noto Color Emoji image in the npm package \`emoji-datasource-google\` (Apache-2.0;
  ${vendorEmojiFiles("google").length} drawings, skin tones included), composed afresh every step at random positions on
  ${BACKGROUND_NAMES.length} flat backgrounds (${BACKGROUND_NAMES.join(", ")}) at three sizes (small ${SIZES.small.join("–")} px,
  unmarked ${SIZES[""].join("–")} px, big ${SIZES.big.join("–")} px). Twemoji (\`emoji-datasource-twitter\`) is never trained on: the
  benchmark's subjects and the codec gate come from it.
- **UNet and text encoder**: ${EMOJI_CLASSES.length} nouns (${EMOJI_CLASSES.map((c) => c.noun).join(", ")}) in the same kind of
  scenes, captioned with what the image shows ("a photo of a small dog on a blue background", "a cat", …); one
  background per class is held out (class *i* never appears on colour *i* mod 8) to test unseen combinations.
  ${training ? `${training.images} scenes${training.jitterCopies ? `, each also as ${training.jitterCopies} colour/brightness-jittered copies of the drawing (so a class is a family of drawings)` : ""}, seed ${training.seed}; one in ten also trained with the empty caption (for classifier-free guidance).` : ""}

## Architecture

| network | config | parameters (file) |
|---|---|---|
| VAE | ${vaeConfig?.block_out_channels.join("/")} channels, ${vaeConfig?.block_out_channels.length} levels (32×32×3 ↔ ${latent}), no mid attention | ${(counts[1] / 1e6).toFixed(2)} M (${(sizes[1] / 1e6).toFixed(2)} MB) |
| text encoder | CLIP, ${textConfig?.num_hidden_layers} layers × ${textConfig?.hidden_size}, ${textConfig?.max_position_embeddings} tokens, BPE vocabulary learned from the captions | ${(counts[2] / 1e6).toFixed(2)} M (${(sizes[2] / 1e6).toFixed(2)} MB) |
| UNet | ${unetConfig?.block_out_channels.join("/")} channels, cross-attention at both levels, head dim ${unetConfig?.attention_head_dim} | ${(counts[0] / 1e6).toFixed(2)} M (${(sizes[0] / 1e6).toFixed(2)} MB) |
| judge | 4 convs ${judge?.channels?.join("/")}, class/background/size heads${judge?.identities ? `, identity head (${judge.embeddingSize}-d embedding over ${judge.identities.length} Noto drawings)` : ""} | ${(counts[3] / 1e6).toFixed(2)} M (${(sizes[3] / 1e6).toFixed(2)} MB) |
| scheduler | SD1.5's (scaled-linear β, 1000 steps, ε-prediction); samples with DDIM | |

## Training (\`npm run pretrain\`, tfjs wasm backend, one thread per stage, on a 2-core machine; every stage resumes from its checkpoint)

${stage("VAE", training?.vae)}
${stage("Decoder fine-tune (encoder frozen, so the UNet's latents do not move)", training?.decoder)}
${training ? `- UNet + text encoder together: ${training.steps} of ${training.plannedSteps} planned steps of batch ${training.batchSize}${minutes(training.seconds)}, AdamW (lr 10⁻³ cosine, warmup 100, weight decay 10⁻²), min-SNR γ 5, horizontal flips; latent scaling factor ${training.scalingFactor}.${commandOf(training)}` : ""}
${curve.length > 0 ? `- ε-prediction loss (smoothed): ${curve.map((point) => `step ${point.step}: ${point.loss.toFixed(3)}`).join(", ")}.` : ""}
${identifierStage ? `- Identifier stage (the UNet stage continued, so an identifier it never saw leaves the class alone, as DreamBooth's rare tokens do): ${identifierStage.steps} of ${identifierStage.plannedSteps} steps of batch ${identifierStage.batchSize}${minutes(identifierStage.seconds)}, lr ${identifierStage.baseLr} cosine (warmup 50); ${percent(identifierStage.share)} of the scenes also captioned with a random 2–5-letter unknown word before the noun ("a big xqv dog"), never ${identifierStage.reserved.map((word) => `"${word}"`).join(" or ")}; final loss ${identifierStage.losses.at(-1)?.loss.toFixed(3) ?? "?"}.${commandOf(identifierStage)}` : ""}
${judge?.training ? `- Judge: ${judge.training.steps} steps of 32 class + 32 identity scenes${minutes(judge.training.seconds)}${judgeAncestry(judge.training.init)}.${commandOf(judge.training)}` : ""}

## Quality gate (\`npm run pretrain:gate\`)

${
  verdicts.length > 0
    ? `| gate | measured | needs | |
|---|---|---|---|
${verdicts.map((v) => `| ${v.gate} | ${v.threshold < 1 ? percent(v.value) : `${v.value.toFixed(2)} dB`} | ≥ ${v.threshold < 1 ? percent(v.threshold) : `${v.threshold} dB`} | ${v.pass ? "pass" : "**fail**"} |`).join("\n")}

Codec: round-trip PSNR ${gate.codec.roundTripPsnr.toFixed(2)} dB on ${gate.codec.scenes.count} held-out Twemoji scenes (previous VAE ${gate.codec.baselineRoundTripPsnr.toFixed(2)} dB). Generations: DDIM ${gate.sampling.steps} steps, guidance ${gate.sampling.guidance_scale}, ${gate.imagesPerPrompt} images per prompt; background accuracy on held-out pairs ${percent(gate.backgroundAccuracy)}, class accuracy on seen pairs ${percent(gate.seen.classAccuracy)} (chance ${percent(gate.classChance)}).

![one row per class (the first 16): 3 seeds each of the held-out pair, a seen pair, the class alone](quality-gate.png)`
    : "Not measured yet."
}

## The judge (\`judge/\`, \`npm run pretrain:judge\`)

A 4-conv CNN that stands in for DINO and CLIP in the benchmark and in each training's \`reports/quality.json\`.
Its class, background and size heads are trained on the 32 classes' scenes, each class drawn from every Noto
drawing of its noun (a dog face, a dog, a poodle) and equally often from OpenMoji's (CC BY-SA 4.0: the judge's
licence, see NOTICE) and Microsoft Fluent's (flat style, MIT) drawings of the same, colour-jittered with hue and saturation and mirrored, so it
can name a subject drawn by a vendor it never saw (Twemoji, the benchmark's subjects); its identity head tells every
Noto drawing apart whatever the background, size or blur, and its embedding is the subject descriptor of
subject fidelity. Half of every batch is seen as this model's VAE returns it (encode → decode), since
every image it grades comes out of that decoder. ${judge?.training?.validationAccuracy ? `Validation on scenes from another seed: class ${percent(judge.training.validationAccuracy.class)}, background ${percent(judge.training.validationAccuracy.background)}, size ${percent(judge.training.validationAccuracy.size)} as drawn; after a VAE round trip class ${percent(judge.training.validationAccuracyVaeRoundTrip.class)}.${judge.training.identityAccuracy !== undefined ? ` Identity (top-1 of ${judge.identities.length}): ${percent(judge.training.identityAccuracy)} as drawn, ${percent(judge.training.identityAccuracyVaeRoundTrip)} after a round trip.` : ""}` : ""}

## DreamBooth benchmark (\`npm run bench:dreambooth\`)

${settings ? `Subjects: Twemoji ${[...new Set((results.parts as { settings: { subjects: string } }[]).flatMap((part) => part.settings.subjects.split(",")))].join(", ")} (${settings.photos} composed photos each), training seeds ${settings.trainingSeeds.join(", ")}, ${settings.steps} steps of batch 1 (+1 class image per step with prior preservation, ${settings.classImages} class images rendered by the base model), lr ${settings.fullLr} full / ${settings.loraLr} LoRA (rank 4), text encoder frozen; every run sampled with the same seeds (${settings.evaluation.seeds.join(", ")}), DDIM ${settings.evaluation.steps} steps, guidance ${settings.evaluation.guidanceScale}. Mean ± standard deviation over subjects × training seeds.${summary ? ` The whole benchmark took ${(summary.wall_s / 60).toFixed(1)} min.` : ""}` : ""}

Subject fidelity is scored against the subject's photos after a VAE round trip and normalised:
(s − s_prior) / (s_ceiling − s_prior), where s_prior scores Noto's own drawing of the class in the same
scenes and s_ceiling the round-tripped photos against each other (0 = the class, not the subject; 1 = as
alike as the subject's own photos).

${table ?? "Not run yet."}

${summary ? `Raw bounds per subject:\n${boundsLines(summary).join("\n")}\n\nWhat the benchmark should show, and what it shows:\n${benchmarkOutcomes(summary).map((o) => `- ${o.holds === null ? "not measured" : o.holds ? "holds" : "**does not hold**"} — ${o.claim}: ${o.detail}.`).join("\n")}` : ""}

${example}

## Limitations (read before trusting the numbers)

- A toy by design: 32×32 images, ${EMOJI_CLASSES.length} classes, flat backgrounds, ${((counts[0] + counts[1] + counts[2]) / 1e6).toFixed(1)} M parameters, trained on two CPU cores.
- The VAE compresses 4× per side (${latent} latents) with L1, image-gradient and KL terms only (no perceptual or adversarial term as SD's had), so small emoji still come back softened.
- The judge is trained on the same emoji set as the model and stands in for DINO/CLIP; the benchmark's numbers compare runs of this model with each other, not with the paper's DreamBench figures.
- The benchmark is small (${settings ? `${[...new Set((results.parts as { settings: { subjects: string } }[]).flatMap((part) => part.settings.subjects.split(",")))].length} subjects × ${settings.trainingSeeds.length} training seeds` : "a few subjects and seeds"}): read differences smaller than the spreads as noise.

Weights in total: ${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(2)} MB.
`;
await writeFile(path.join(dir, "README.md"), card.replace(/\n{3,}/g, "\n\n"));
console.log(`wrote ${path.join(dir, "README.md")}`);
