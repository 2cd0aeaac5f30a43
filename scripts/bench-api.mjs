#!/usr/bin/env node
/**
 * `npm run bench:api`: latency of `GET /v1/trainings/:id` (API-key lookup in its
 * Durable Object, then the job's Durable Object) next to the bare `GET /healthz`
 * route of the same Worker on the same runtime, both measured with autocannon
 * against `npm start` on 127.0.0.1. The ratio says what auth and the job lookup
 * cost over Hono's own routing; absolute numbers depend on the machine.
 * BENCH_SECONDS and BENCH_CONNECTIONS tune the run.
 */
import autocannon from "autocannon";
import { apiClient, makePhotos, startLocalSystem } from "./lib/local-api.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

function measure(url, headers) {
  return autocannon({ url, headers, connections, duration: seconds });
}

function summary(name, result) {
  const { p50, p99 } = result.latency;
  return { route: name, p50_ms: p50, p99_ms: p99, req_per_s: Math.round(result.requests.average), non_2xx: result.non2xx, errors: result.errors };
}

const system = await startLocalSystem();
try {
  const api = apiClient(system.url, system.api_key);
  const subject = await api.post("/v1/subjects", { name: "bench", class_noun: "dog" });
  for (const photo of await makePhotos(3)) {
    const response = await fetch(`${system.url}/v1/subjects/${subject.id}/images/${photo.name}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${system.api_key}`, "content-type": "image/jpeg" },
      body: photo.bytes,
    });
    if (response.status !== 201) throw new Error(`photo upload failed: ${response.status}`);
  }
  await api.post(`/v1/subjects/${subject.id}/finalize`);
  const training = await api.post("/v1/trainings", { subject_id: subject.id, backend: "fake", params: { steps: 10 } });
  const auth = { authorization: `Bearer ${system.api_key}` };

  // Warm both paths (isolate, Durable Objects) before measuring.
  await autocannon({ url: `${system.url}/healthz`, connections, amount: 200 });
  await autocannon({ url: `${system.url}/v1/trainings/${training.id}`, headers: auth, connections, amount: 200 });

  const bare = summary("GET /healthz (bare Hono route)", await measure(`${system.url}/healthz`));
  const full = summary(`GET /v1/trainings/:id`, await measure(`${system.url}/v1/trainings/${training.id}`, auth));
  console.table([bare, full]);
  console.log(
    JSON.stringify({
      connections,
      seconds,
      bare,
      training: full,
      ratio_p50: +(full.p50_ms / Math.max(bare.p50_ms, 0.001)).toFixed(2),
      ratio_p99: +(full.p99_ms / Math.max(bare.p99_ms, 0.001)).toFixed(2),
    }),
  );
} finally {
  await system.stop();
}
