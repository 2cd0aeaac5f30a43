#!/usr/bin/env node
/**
 * `npm run demo`: the whole product path as a client sees it, against `npm start`
 * (started here, or an already running one given by DEMO_URL and DEMO_API_KEY):
 * create a subject → upload 5 photos through signed URLs → finalize → start a
 * training → follow its Server-Sent Events to `succeeded` → generate → list the images.
 *
 * The training runs on the system's default backend (`--backend fake|container|replicate`
 * picks another). On the local CPU backend with the embedded tiny model the paper's
 * defaults (1000 steps, 200 class images) would take long, so the demo asks for a quick
 * run there — 20 steps, 4 class images — as `--quick` does against any system.
 */
import { apiClient, followEvents, makePhotos, startLocalSystem } from "./lib/local-api.mjs";

/** A training that shows every stage (class images, prior preservation, export) in about a minute on two cores. */
const QUICK_TRAINING_PARAMS = { steps: 20, prior_preservation: { num_class_images: 4 } };

function option(name) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const printEvent = (event, { job }) => {
  const { step, total_steps, loss } = job.progress ?? {};
  const progress = total_steps ? ` step ${step}/${total_steps}${loss == null ? "" : ` loss ${loss.toFixed(4)}`}` : "";
  console.log(`  event ${event?.padEnd(10)} status=${job.status}${progress}`);
};

async function run(baseUrl, apiKey, { backend, quick }) {
  const api = apiClient(baseUrl, apiKey);

  const subject = await api.post("/v1/subjects", { name: "Demo dog", class_noun: "dog" });
  console.log(`subject ${subject.id} (identifier "${subject.identifier}", class "${subject.class_noun}")`);

  const photos = await makePhotos(5);
  const { uploads } = await api.post(`/v1/subjects/${subject.id}/uploads`, {
    files: photos.map((photo) => ({ name: photo.name, content_type: "image/jpeg" })),
  });
  for (const [i, upload] of uploads.entries()) {
    const response = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: photos[i].bytes });
    if (!response.ok) throw new Error(`upload ${upload.name}: ${response.status} ${await response.text()}`);
  }
  console.log(`uploaded ${uploads.length} photos via signed URLs (${new URL(uploads[0].url).origin})`);

  const { subject: ready, report } = await api.post(`/v1/subjects/${subject.id}/finalize`);
  console.log(`finalized: ${ready.status}, ${report.photos.map((photo) => `${photo.name} ${photo.width}×${photo.height}`).join(", ")}`);

  const params = quick ? QUICK_TRAINING_PARAMS : backend === "fake" ? { steps: 20 } : {};
  const training = await api.post("/v1/trainings", { subject_id: subject.id, ...(backend ? { backend } : {}), params });
  console.log(`training ${training.id} on ${training.backend} (${training.base_model}, ${training.params.steps} steps): ${training.status}; following events…`);
  const finished = await followEvents(`${baseUrl}/v1/trainings/${training.id}/events`, apiKey, printEvent);
  if (finished.status !== "succeeded") throw new Error(`training ended ${finished.status}: ${JSON.stringify(finished.error)}`);
  const trained = await api.get(`/v1/trainings/${training.id}`);
  console.log(`artifacts: ${trained.artifacts.map((artifact) => artifact.name).join(", ")}`);

  const generation = await api.post("/v1/generations", { training_id: training.id, prompt: "a {subject} on the beach", num_images: 2 });
  console.log(`generation ${generation.id}: ${generation.status}; following events…`);
  await followEvents(`${baseUrl}/v1/generations/${generation.id}/events`, apiKey, printEvent);
  const generated = await api.get(`/v1/generations/${generation.id}`);
  console.log(`generation ${generated.status}, images:`);
  for (const image of generated.images) {
    const url = new URL(image.url, baseUrl);
    const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
    const bytes = (await response.arrayBuffer()).byteLength;
    console.log(`  ${image.width}×${image.height} seed ${image.seed} → ${url} (${response.status}, ${bytes} bytes)`);
  }
}

const backend = option("backend") ?? process.env.DEMO_BACKEND;
const quick = process.argv.includes("--quick");
if (process.env.DEMO_URL && process.env.DEMO_API_KEY) {
  await run(process.env.DEMO_URL, process.env.DEMO_API_KEY, { backend, quick });
} else {
  const system = await startLocalSystem();
  console.log(`npm start is up at ${system.url}`);
  const localCpu = (backend ?? system.default_backend) === "container" && system.default_base_model.startsWith("tiny-");
  try {
    await run(system.url, system.api_key, { backend, quick: quick || localCpu });
  } finally {
    await system.stop();
  }
}
