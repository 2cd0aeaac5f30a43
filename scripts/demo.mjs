#!/usr/bin/env node
/**
 * `npm run demo`: the whole product path as a client sees it, against `npm start`
 * (started here, or an already running one given by DEMO_URL and DEMO_API_KEY):
 * create a subject → upload 5 photos through signed URLs → finalize → start a
 * training on the fake backend → follow its Server-Sent Events to `succeeded` →
 * generate → list the images.
 */
import { apiClient, makePhotos, startLocalSystem } from "./lib/local-api.mjs";

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

/** Reads an SSE stream until a job view in it reaches a terminal status; prints each event. */
async function followEvents(url, apiKey) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, accept: "text/event-stream" } });
  if (!response.ok) throw new Error(`events: ${response.status} ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
      const job = data?.job;
      if (!job) continue;
      const { step, total_steps } = job.progress ?? {};
      console.log(`  event ${event?.padEnd(10)} status=${job.status}${total_steps ? ` step ${step}/${total_steps}` : ""}`);
      if (TERMINAL.has(job.status)) {
        await response.body.cancel().catch(() => undefined);
        return job;
      }
    }
  }
  throw new Error("event stream ended before the job finished");
}

async function run(baseUrl, apiKey) {
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

  const training = await api.post("/v1/trainings", { subject_id: subject.id, backend: "fake", params: { steps: 20 } });
  console.log(`training ${training.id}: ${training.status}; following events…`);
  const finished = await followEvents(`${baseUrl}/v1/trainings/${training.id}/events`, apiKey);
  if (finished.status !== "succeeded") throw new Error(`training ended ${finished.status}: ${JSON.stringify(finished.error)}`);
  const trained = await api.get(`/v1/trainings/${training.id}`);
  console.log(`artifacts: ${trained.artifacts.map((artifact) => artifact.name).join(", ")}`);

  const generation = await api.post("/v1/generations", { training_id: training.id, prompt: "a {subject} on the beach", num_images: 2 });
  console.log(`generation ${generation.id}: ${generation.status}; following events…`);
  await followEvents(`${baseUrl}/v1/generations/${generation.id}/events`, apiKey);
  const generated = await api.get(`/v1/generations/${generation.id}`);
  console.log(`generation ${generated.status}, images:`);
  for (const image of generated.images) {
    const url = new URL(image.url, baseUrl);
    const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
    const bytes = (await response.arrayBuffer()).byteLength;
    console.log(`  ${image.width}×${image.height} seed ${image.seed} → ${url} (${response.status}, ${bytes} bytes)`);
  }
}

if (process.env.DEMO_URL && process.env.DEMO_API_KEY) {
  await run(process.env.DEMO_URL, process.env.DEMO_API_KEY);
} else {
  const system = await startLocalSystem();
  console.log(`npm start is up at ${system.url}`);
  try {
    await run(system.url, system.api_key);
  } finally {
    await system.stop();
  }
}
