#!/usr/bin/env node
/**
 * `npm run demo`: the whole product path as a client sees it, leaving its results
 * on disk: create a subject → upload 5 photos of a real emoji of its class
 * through signed URLs → finalize → train → follow the events to `succeeded` →
 * generate 4 images → save photos, images, validation samples, the LoRA and the
 * quality report into one folder (named at the end, with summary.json holding
 * every id so a script can continue from it).
 *
 * It starts `npm start` for itself, or reuses a running system: DEMO_URL (e.g.
 * http://127.0.0.1:8787) and DEMO_API_KEY (default: the key in .wrangler/dev-api-key).
 * Options: --class NOUN (default dog), --prompt TEXT (default: the base model's
 * suggested prompt), --backend fake|container|replicate, --quick, --out DIR
 * (default demo-output/<time>). On a base model with a quick run (GET /v1/models)
 * that runs on a CPU, the demo asks for that quick run by itself.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { emojiPhotos } from "./lib/emoji-photos.mjs";
import { apiClient, followEvents, startLocalSystem } from "./lib/local-api.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function option(name) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const printEvent = (event, { job }) => {
  const { phase, step, total_steps, loss } = job.progress ?? {};
  const progress = total_steps ? ` ${phase} ${step}/${total_steps}${loss == null ? "" : ` loss ${loss.toFixed(4)}`}` : "";
  console.log(`  event ${event?.padEnd(10)} status=${job.status}${progress}`);
};

async function run(baseUrl, apiKey, { backend, quick, classNoun, out }) {
  const api = apiClient(baseUrl, apiKey);
  const download = async (path, file) => {
    const response = await fetch(new URL(path, baseUrl), { headers: { authorization: `Bearer ${apiKey}` } });
    if (!response.ok) throw new Error(`GET ${path} → ${response.status}`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    return relative(process.cwd(), file);
  };

  const catalog = await api.get("/v1/models");
  const model = catalog.items.find((item) => item.default);
  const prompt = option("prompt") ?? model.suggested_prompt;
  console.log(`base model ${model.id} (${model.resolution} px) on backend ${catalog.backend.name} (${catalog.backend.device ?? "no model"})`);

  const subject = await api.post("/v1/subjects", { name: `Demo ${classNoun}`, class_noun: classNoun });
  console.log(`subject ${subject.id} (identifier "${subject.identifier}", class "${subject.class_noun}")`);
  const photos = await emojiPhotos(classNoun, 5);
  const { uploads } = await api.post(`/v1/subjects/${subject.id}/uploads`, {
    files: photos.map((photo) => ({ name: photo.name, content_type: "image/png" })),
  });
  for (const [i, upload] of uploads.entries()) {
    const response = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: photos[i].bytes });
    if (!response.ok) throw new Error(`upload ${upload.name}: ${response.status} ${await response.text()}`);
    mkdirSync(join(out, "photos"), { recursive: true });
    writeFileSync(join(out, "photos", photos[i].name), photos[i].bytes);
  }
  console.log(`uploaded ${uploads.length} photos via signed URLs (${new URL(uploads[0].url).origin})`);
  const { subject: ready } = await api.post(`/v1/subjects/${subject.id}/finalize`);
  console.log(`finalized: ${ready.status}`);

  const onCpu = catalog.backend.device === "cpu";
  const params = {
    ...(quick || onCpu ? { steps: model.quick_training.steps, prior_preservation: { num_class_images: model.quick_training.num_class_images } } : {}),
    ...(backend === "fake" ? { steps: 20 } : {}),
    validation_prompts: [prompt],
  };
  const training = await api.post("/v1/trainings", { subject_id: subject.id, ...(backend ? { backend } : {}), params });
  console.log(`training ${training.id} on ${training.backend} (${training.base_model}, ${training.params.steps} steps): following events…`);
  const finished = await followEvents(`${baseUrl}/v1/trainings/${training.id}/events`, apiKey, printEvent);
  if (finished.status !== "succeeded") throw new Error(`training ended ${finished.status}: ${JSON.stringify(finished.error)}`);
  const trained = await api.get(`/v1/trainings/${training.id}`);
  const files = [];
  for (const artifact of trained.artifacts) {
    if (artifact.format === "image") files.push(await download(`/v1/trainings/${training.id}/${artifact.name}`, join(out, artifact.name)));
    if (artifact.download_url) files.push(await download(artifact.download_url, join(out, "lora", artifact.name.split("/").at(-1))));
  }
  if (trained.quality) writeFileSync(join(out, "quality.json"), `${JSON.stringify(trained.quality, null, 2)}\n`);

  const generation = await api.post("/v1/generations", { training_id: training.id, prompt, num_images: 4 });
  console.log(`generation ${generation.id} "${generation.params.prompt}": following events…`);
  await followEvents(`${baseUrl}/v1/generations/${generation.id}/events`, apiKey, printEvent);
  const generated = await api.get(`/v1/generations/${generation.id}`);
  if (generated.status !== "succeeded") throw new Error(`generation ended ${generated.status}: ${JSON.stringify(generated.error)}`);
  for (const [index, image] of generated.images.entries()) {
    files.push(await download(image.url, join(out, "images", `${index}-seed${image.seed}.png`)));
  }
  const summary = { url: baseUrl, subject_id: subject.id, training_id: training.id, generation_id: generation.id, prompt, quality: trained.quality };
  writeFileSync(join(out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`\nSaved in ${relative(process.cwd(), out) || "."}/: photos/, ${files.join(", ")}, summary.json`);
  console.log(`  subject ${subject.id}  training ${training.id}  generation ${generation.id}`);
}

const backend = option("backend") ?? process.env.DEMO_BACKEND;
const quick = process.argv.includes("--quick");
const classNoun = option("class") ?? "dog";
const out = option("out") ?? join(root, "demo-output", new Date().toISOString().slice(0, 19).replaceAll(":", "-"));
const settings = { backend, quick, classNoun, out };
if (process.env.DEMO_URL) {
  const keyFile = join(root, ".wrangler", "dev-api-key");
  const apiKey = process.env.DEMO_API_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, "utf8").trim() : "");
  if (!apiKey) throw new Error("DEMO_URL needs DEMO_API_KEY (or .wrangler/dev-api-key from npm start)");
  await run(process.env.DEMO_URL, apiKey, settings);
} else {
  const system = await startLocalSystem();
  console.log(`npm start is up at ${system.url}`);
  try {
    await run(system.url, system.api_key, settings);
  } finally {
    await system.stop();
  }
}
