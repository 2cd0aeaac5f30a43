/**
 * `npm run smoke:sd15`: the production path at Stable Diffusion 1.5's full size, end to end on this
 * machine. Writes a random-weight SD1.5 folder (random-model.ts) under SMOKE_DIR (default: a fresh folder
 * in the OS temp dir, removed at the end), loads its fp16 variant once to time it, then runs the service
 * exactly as main.ts wires it — model registry, job runner, signed HTTP — with a fake Worker for the
 * callbacks: a 2-step DreamBooth LoRA training with prior preservation (2 class images rendered by the
 * model) at 64 px, then a 2-step generation with the trained LoRA. Prints load and step times, peak
 * memory (RSS, and tensor bytes as tfjs counts them and as distinct buffers) and the export sizes.
 *
 * Backend: `cpu` unless TFJS_BACKEND says otherwise. SD1.5's float32 weights (4.3 GB) do not fit the wasm
 * backend's 4 GiB heap, and `tensorflow` (tfjs-node) is only installed in the GPU image; the cpu backend
 * keeps tensors in JavaScript memory, which has no such limit. At 64 px the UNet works on 8×8 latents.
 * One training replica (TRAIN_WORKERS=1 unless set): each replica holds its own 4 GB copy of the networks.
 * A run killed outright (SIGKILL) cannot clean up: delete the `smoke-sd15-*` folder in the temp dir.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { BackendEvent, GenerateJob, TrainJob } from "../../../shared/job.js";
import { signedHeaders } from "../../../shared/signing.js";
import { resolveTrainingParams, TrainingParamsSchema } from "../../../shared/params.js";
import { FakeWorkerCallbacks } from "../../../test/fakes/worker-callbacks.js";
import { loadBaseModel } from "../../src/dreambooth/base-model.js";
import { findModelFolder } from "../../src/dreambooth/model-folders.js";
import { ModelRegistry } from "../../src/dreambooth/model-registry.js";
import { runGenerateJob } from "../../src/jobs/generate-job.js";
import { runTrainJob } from "../../src/jobs/train-job.js";
import { UNetConfigSchema } from "../../src/model/config.js";
import { UNet2DConditionModel } from "../../src/model/unet.js";
import { loadPretrained } from "../../src/model/weights.js";
import { startService } from "../../src/server/service.js";
import { initTensorBackend } from "../../src/tensor/backend.js";
import { watchTensorMemory } from "../../src/tensor/memory-watch.js";
import { writeRandomSd15 } from "./random-model.js";

const SECRET = "smoke-sd15-secret-0123456789";
const started = performance.now();
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const peakRss = () => gib(process.resourceUsage().maxRSS * 1024);
const load = () => loadavg().map((value) => value.toFixed(2)).join(" ");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function timed<T>(label: string, run: () => Promise<T>): Promise<T> {
  const since = performance.now();
  const result = await run();
  console.log(`${label}: ${seconds(since)} (peak RSS so far ${peakRss()})`);
  return result;
}

process.env.TRAIN_WORKERS ??= "1";
const backend = await initTensorBackend({ requested: process.env.TFJS_BACKEND ?? "cpu" });
console.log(`load average at start: ${load()}`);
const root = process.env.SMOKE_DIR ?? (await mkdtemp(path.join(tmpdir(), "smoke-sd15-")));
const modelDir = path.join(root, "models", "sd15");
const memory = watchTensorMemory();
let worker: FakeWorkerCallbacks | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let progress: ReturnType<typeof setInterval> | undefined;
try {
  await timed(`wrote a random-weight SD1.5 (float32 + fp16) to ${modelDir}`, () => writeRandomSd15(modelDir));
  const unetFile = path.join(modelDir, "unet", "diffusion_pytorch_model.safetensors");
  const unetBytes = (await stat(unetFile)).size;
  const unetHalfBytes = (await stat(path.join(modelDir, "unet", "diffusion_pytorch_model.fp16.safetensors"))).size;
  console.log(`UNet files: float32 ${gib(unetBytes)}${unetBytes > 2 ** 31 ? " (over 2 GiB)" : ""}, fp16 ${gib(unetHalfBytes)}`);

  await timed("loaded the fp16 UNet variant (F16 → float32)", async () => {
    const unet = await loadPretrained(path.dirname(unetFile), UNetConfigSchema, (config, init) => new UNet2DConditionModel(config, init), { variant: "fp16" });
    unet.params.dispose();
  });

  const registry = new ModelRegistry(async (id) => loadBaseModel((await findModelFolder(id, [path.join(root, "models")]))!, id));
  memory.reset();
  const model = await timed("loaded sd15 through the service's model registry (float32)", () => registry.get("sd15"));
  console.log(`  parameters: UNet ${model.unet.params.parameterCount}, VAE ${model.vae.params.parameterCount}, text encoder ${model.textEncoder.params.parameterCount}`);
  console.log(`  tensor bytes after load: ${gib(memory.peakBufferBytes)} buffers, ${gib(memory.peakBytes)} as tfjs counts`);

  const deps = { model: (id: string) => registry.get(id), workDir: path.join(root, "jobs") };
  worker = new FakeWorkerCallbacks(SECRET);
  await worker.start();
  service = await startService({
    port: 0,
    host: "127.0.0.1",
    secret: SECRET,
    backend,
    device: "smoke:sd15",
    handlers: { train: (context) => runTrainJob(context, deps), generate: (context) => runGenerateJob(context, deps) },
    modelsLoaded: () => registry.loaded(),
    progressIntervalMs: 0,
  });
  // Progress as the jobs report it (printed between steps, when the job yields), so a long run shows where it is.
  let printed = 0;
  progress = setInterval(() => {
    for (const event of worker!.events.slice(printed)) {
      if (event.type === "progress") console.log(`  [${seconds(started)}] ${event.job_id} ${event.phase} ${event.step}/${event.total_steps} ${event.message ?? ""}`);
    }
    printed = worker!.events.length;
  }, 1000);
  const submit = async (job: TrainJob | GenerateJob) => {
    const body = JSON.stringify(job);
    const response = await fetch(`${service!.url}/jobs`, { method: "POST", headers: { "content-type": "application/json", ...(await signedHeaders(SECRET, body)) }, body });
    if (response.status !== 202) throw new Error(`${job.job_id}: ${response.status} ${await response.text()}`);
    const end = await worker!.waitFor((event) => event.job_id === job.job_id && ["succeeded", "failed", "canceled"].includes(event.type), 3 * 3_600_000);
    if (end.type !== "succeeded") throw new Error(`${job.job_id} ended ${JSON.stringify(end)}`);
    return end as Extract<BackendEvent, { type: "succeeded" }>;
  };

  const raw = Buffer.alloc(96 * 80 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + ((i / 240) | 0) * 13) % 256;
  const photo = new Uint8Array(await sharp(raw, { raw: { width: 96, height: 80, channels: 3 } }).jpeg().toBuffer());
  worker.inputs.set("photo.jpg", photo);
  const trainJob: TrainJob = {
    job_id: "smoke_train",
    attempt: 1,
    kind: "train",
    base_model: "sd15",
    callback_url: worker.callbackUrl,
    deadline: Date.now() + 3 * 3_600_000,
    subject: { identifier: "zxq", class_noun: "dog" },
    inputs: [{ name: "photo.jpg", url: worker.inputUrl("photo.jpg"), sha256: sha256(photo), size: photo.length }],
    params: resolveTrainingParams(
      TrainingParamsSchema.parse({
        steps: 2,
        checkpoint_selection: "last",
        method: "lora",
        learning_rate: 1e-4,
        lora_rank: 4,
        prior_preservation: { enabled: true, num_class_images: 2, class_image_steps: 1 },
        resolution: 64,
        seed: 1234,
        checkpoint_every: 1000,
        validation_every: 1000,
        validation_steps: 1,
        gradient_checkpointing: process.env.SMOKE_GRADIENT_CHECKPOINTING === "1",
        attention_chunk: process.env.SMOKE_ATTENTION_CHUNK ? Number(process.env.SMOKE_ATTENTION_CHUNK) : undefined,
      }),
      { identifier: "zxq", class_noun: "dog" },
      { resolution: 64 },
      1234,
    ),
  };
  memory.reset();
  const training = await timed("training job (2 class images × 1 step, 2 LoRA steps at 64 px, exports)", () => submit(trainJob));
  console.log(`  ms per training step: ${training.metrics?.ms_per_step?.toFixed(0)}, final loss ${training.metrics?.final_loss?.toFixed(4)}`);
  console.log(`  peak tensor memory during the job: ${gib(memory.peakBufferBytes)} buffers, ${gib(memory.peakBytes)} as tfjs counts`);
  const artifacts = worker.events.filter((event): event is Extract<BackendEvent, { type: "artifact" }> => event.type === "artifact" && event.job_id === trainJob.job_id);
  for (const artifact of artifacts) console.log(`  ${artifact.name}: ${mib(artifact.size)}`);
  const kohya = artifacts.find((artifact) => artifact.name === "artifacts/lora_kohya.safetensors");
  const diffusersLora = worker.blobs.get("artifacts/pytorch_lora_weights.safetensors")!.bytes;
  worker.inputs.set("lora.safetensors", diffusersLora);

  const generateJob: GenerateJob = {
    job_id: "smoke_generate",
    attempt: 1,
    kind: "generate",
    base_model: "sd15",
    callback_url: worker.callbackUrl,
    deadline: Date.now() + 3_600_000,
    params: { prompt: "a photo of zxq dog on the beach", num_images: 1, steps: 2, guidance_scale: 7.5, scheduler: "ddim", seed: 7, width: 64, height: 64, lora_scale: 1 },
    weights: {
      format: "diffusers-lora",
      method: "lora",
      files: [{ name: "pytorch_lora_weights.safetensors", url: worker.inputUrl("lora.safetensors"), sha256: sha256(diffusersLora), size: diffusersLora.length }],
    },
  };
  memory.reset();
  await timed("generation job (the trained LoRA, 2 DDIM steps with guidance, 64 px)", () => submit(generateJob));
  console.log(`  peak tensor memory during the job: ${gib(memory.peakBufferBytes)} buffers, ${gib(memory.peakBytes)} as tfjs counts`);
  console.log(`\nsmoke:sd15 passed on tfjs ${backend}: kohya LoRA ${kohya ? mib(kohya.size) : "missing"}, peak RSS ${peakRss()}, wall ${seconds(started)}, load average ${load()}`);
} finally {
  clearInterval(progress);
  memory.stop();
  await service?.stop();
  await worker?.stop();
  if (!process.env.SMOKE_DIR) await rm(root, { recursive: true, force: true });
}
