/**
 * `npm run plan:gpu`: the memory and time plan of SD1.5 DreamBooth training on GPUs, computed from the
 * networks' own shapes (SD1.5's configs built without weights) by src/model/memory-plan.ts, printed as
 * the markdown tables of docs/gpu.md. Everything is float32, as tfjs trains on every backend.
 *
 * Time per step = FLOPs / (COMPUTE_SHARE × the card's dense TF32 tensor-core peak, which TensorFlow 2.x
 * uses for float32 convolutions and matrix products on Ampere) + the element-wise traffic / (BANDWIDTH_SHARE
 * × its memory bandwidth) + kernels × KERNEL_OVERHEAD: tfjs runs one kernel per op, unfused, so every
 * buffer the forward pass creates is written once and read about twice in each pass, and every op pays a
 * dispatch through N-API and TensorFlow's eager runtime. The kernel count is counted, not guessed: a LoRA
 * step of a UNet with SD1.5's exact block layout at tiny widths runs the same ops as SD1.5 itself.
 */
import * as tf from "@tensorflow/tfjs-core";
import { ClipTextModel } from "../src/model/clip-text.js";
import { UNetConfigSchema } from "../src/model/config.js";
import { createLora, LORA_TARGETS, loraVariables } from "../src/model/lora.js";
import { stepPlan, type NetworkSizes, type TrainingChoice } from "../src/model/memory-plan.js";
import { sd15ClipTextConfig, sd15UNetConfig, sd15VaeConfig } from "../src/model/sd15-configs.js";
import { unetForwardCosts, type StepShape } from "../src/model/unet-costs.js";
import { UNet2DConditionModel } from "../src/model/unet.js";
import { AutoencoderKL } from "../src/model/vae.js";
import { initTensorBackend } from "../src/tensor/backend.js";
import { Random } from "../src/tensor/random.js";

const COMPUTE_SHARE = 0.4;
const BANDWIDTH_SHARE = 0.6;
/** Seconds per op dispatched from JavaScript through tfjs-node into TensorFlow's eager runtime. */
const KERNEL_OVERHEAD = 30e-6;
const STEPS = 800;
const RANK = 4;
const CHUNK = 1024;

/** Dense peaks from the vendors' data sheets: TF32 tensor TFLOPS, memory GB/s, memory GB. */
const GPUS = [
  { name: "A100 80GB SXM", memoryGB: 80, tf32: 156, bandwidth: 2039 },
  { name: "A100 40GB", memoryGB: 40, tf32: 156, bandwidth: 1555 },
  { name: "A10 (24 GB)", memoryGB: 24, tf32: 62.5, bandwidth: 600 },
  { name: "RTX 3090 (24 GB)", memoryGB: 24, tf32: 35.6, bandwidth: 936 },
];

await initTensorBackend({ requested: "cpu", log: () => {} });
const unet = new UNet2DConditionModel(sd15UNetConfig, { kind: "shapes" });
const vae = new AutoencoderKL(sd15VaeConfig, { kind: "shapes" });
const textEncoder = new ClipTextModel(sd15ClipTextConfig, { kind: "shapes" });
const loraParameters = [...unet.params.projections]
  .filter(([path]) => LORA_TARGETS.attention.test(path))
  .reduce((sum, [, { inFeatures, outFeatures }]) => sum + RANK * (inFeatures + outFeatures), 0);
const networks: NetworkSizes = {
  unet: sd15UNetConfig,
  unetParameters: unet.params.parameterCount,
  loraParameters,
  otherParameters: vae.params.parameterCount + textEncoder.params.parameterCount,
};
// 512 px: 64×64 latents; one instance and one class example per step (prior preservation).
const shape: StepShape = { batch: 2, latentSize: 64, contextLength: 77 };

/** Kernels one training step runs, counted on SD1.5's block layout at tiny widths (same ops, cheap to run). */
async function kernelsPerStep(choice: TrainingChoice): Promise<number> {
  const layout = UNetConfigSchema.parse({ ...sd15UNetConfig, block_out_channels: [32, 32, 64, 64], norm_num_groups: 8, cross_attention_dim: 32 });
  const model = new UNet2DConditionModel(layout, { kind: "random", seed: 1 });
  model.memory = { gradientCheckpointing: choice.gradientCheckpointing };
  const random = new Random(1);
  const latents = random.normal<tf.Rank.R4>([2, 8, 8, 4]);
  const context = random.normal<tf.Rank.R3>([2, 77, 32]);
  const timesteps = tf.tensor1d([1, 500]);
  const lora = choice.method === "lora" ? createLora(model.params, { rank: RANK, targets: [LORA_TARGETS.attention] }) : undefined;
  model.params.lora = lora;
  if (!lora) for (const variable of model.params.variables) variable.trainable = true;
  const variables = lora ? loraVariables(lora) : model.params.variables;
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.forward(latents, timesteps, context))) as tf.Scalar, variables);
    tf.dispose([value, ...Object.values(grads)]);
  });
  model.params.dispose();
  tf.dispose([latents, context, timesteps]);
  return profile.kernels.length;
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(1);
const options: [string, Omit<TrainingChoice, "method" | "loraRank">][] = [
  ["plain", { gradientCheckpointing: false }],
  [`attention_chunk ${CHUNK}`, { gradientCheckpointing: false, attentionChunk: CHUNK }],
  ["gradient_checkpointing", { gradientCheckpointing: true }],
  [`both`, { gradientCheckpointing: true, attentionChunk: CHUNK }],
];

function secondsPerStep(choice: TrainingChoice, gpu: (typeof GPUS)[number], kernels: number): number {
  const plan = stepPlan(networks, shape, choice);
  const created = unetForwardCosts(sd15UNetConfig, shape, { attentionChunk: choice.attentionChunk, loraRank: choice.method === "lora" ? RANK : 0 }).reduce(
    (sum, cost) => sum + cost.created,
    0,
  );
  const passes = plan.stepFlops / plan.forwardFlops;
  const trafficBytes = 3 * 4 * created * passes;
  return plan.stepFlops / (COMPUTE_SHARE * gpu.tf32 * 1e12) + trafficBytes / (BANDWIDTH_SHARE * gpu.bandwidth * 1e9) + kernels * KERNEL_OVERHEAD;
}

console.log(`SD1.5 parameters: UNet ${networks.unetParameters.toLocaleString("en")}, VAE + text encoder ${networks.otherParameters.toLocaleString("en")}, LoRA rank ${RANK} on the UNet's attention projections ${loraParameters.toLocaleString("en")}`);
console.log(`Step: 512 px (64×64 latents), batch 1 instance + 1 class image, 77 tokens, float32; text embeddings cached (text encoder frozen).\n`);
for (const method of ["lora", "full"] as const) {
  console.log(`### ${method === "lora" ? `LoRA (rank ${RANK})` : "Full fine-tune (UNet)"}\n`);
  const kernels = { plain: await kernelsPerStep({ method, loraRank: RANK, gradientCheckpointing: false }), checkpointed: await kernelsPerStep({ method, loraRank: RANK, gradientCheckpointing: true }) };
  console.log(`Kernels per step: ${kernels.plain} plain, ${kernels.checkpointed} with gradient checkpointing.\n`);
  console.log(`| option | weights GB | gradients GB | optimizer GB | activations GB | total GB | fits | TFLOP/step | ${GPUS.map((gpu) => `${gpu.name} s/step (${STEPS} steps)`).join(" | ")} |`);
  console.log(`|---|---|---|---|---|---|---|---|${GPUS.map(() => "---").join("|")}|`);
  for (const [label, option] of options) {
    const choice: TrainingChoice = { method, loraRank: RANK, ...option };
    const plan = stepPlan(networks, shape, choice);
    // A device needs ~1 GB beside the tensors (CUDA context, cuDNN workspaces) and the allocator's slack.
    const fits = GPUS.filter((gpu, i) => GPUS.findIndex((other) => other.memoryGB === gpu.memoryGB) === i)
      .filter((gpu) => plan.totalBytes * 1.1 + 1e9 <= gpu.memoryGB * 1e9)
      .map((gpu) => `${gpu.memoryGB}`);
    const times = GPUS.map((gpu) => {
      const seconds = secondsPerStep(choice, gpu, choice.gradientCheckpointing ? kernels.checkpointed : kernels.plain);
      return `${seconds.toFixed(2)} (${((seconds * STEPS) / 60).toFixed(0)} min)`;
    });
    console.log(
      `| ${label} | ${gb(plan.weightBytes)} | ${gb(plan.gradientBytes)} | ${gb(plan.optimizerBytes)} | ${gb(plan.activationBytes)} | ${gb(plan.totalBytes)} | ${fits.length ? fits.join(", ") + " GB" : "none of 24/40/80 GB"} | ${(plan.stepFlops / 1e12).toFixed(2)} | ${times.join(" | ")} |`,
    );
  }
  console.log("");
}
console.log(`Assumptions: ${COMPUTE_SHARE * 100}% of the dense TF32 peak for convolutions and matrix products, ${BANDWIDTH_SHARE * 100}% of the memory bandwidth for the unfused element-wise traffic, ${KERNEL_OVERHEAD * 1e6} µs per kernel dispatch; "fits" leaves 10% allocator slack and 1 GB for the CUDA context.`);
