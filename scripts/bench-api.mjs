#!/usr/bin/env node
/**
 * `npm run bench:api`: throughput and latency of a status read, `GET /v1/trainings/:id`
 * (the key's account: key check and rate limit in one round trip, then the job's
 * Durable Object), next to the bare `GET /healthz` route of the same Worker, both
 * measured in the same run with autocannon against `npm start` on 127.0.0.1. The
 * account is put on the `enterprise` plan first, so the per-key limit is not what
 * is measured; any 429 is counted apart and never as throughput. The ratios say
 * what auth, rate limiting and the job read cost over Hono's own routing; absolute
 * numbers depend on the machine. BENCH_SECONDS and BENCH_CONNECTIONS tune the run.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { apiClient, makePhotos, startLocalSystem } from "./lib/local-api.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function adminToken() {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  const devVars = join(root, ".dev.vars");
  const match = existsSync(devVars) && /^ADMIN_TOKEN="?([^"\n]+)"?/m.exec(readFileSync(devVars, "utf8"));
  if (!match) throw new Error("no ADMIN_TOKEN in the environment or .dev.vars");
  return match[1];
}

function measure(url, headers) {
  return autocannon({ url, headers, connections, duration: seconds });
}

/** Throughput counts 2xx answers only; 429s and other non-2xx are reported apart. */
function summary(name, result) {
  const { p50, p99 } = result.latency;
  const codes = result.statusCodeStats ?? {};
  return {
    route: name,
    ok_per_s: Math.round(result["2xx"] / result.duration),
    p50_ms: p50,
    p99_ms: p99,
    "429s": codes["429"]?.count ?? 0,
    other_non_2xx: result.non2xx - (codes["429"]?.count ?? 0),
    errors: result.errors,
  };
}

const system = await startLocalSystem();
try {
  const plan = await fetch(`${system.url}/admin/accounts/${system.account_id}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json" },
    body: JSON.stringify({ plan: "enterprise" }),
  });
  if (!plan.ok) throw new Error(`setting the bench plan failed: ${plan.status} ${await plan.text()}`);
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
  const full = summary("GET /v1/trainings/:id", await measure(`${system.url}/v1/trainings/${training.id}`, auth));
  console.table([bare, full]);
  console.log(
    JSON.stringify({
      connections,
      seconds,
      bare,
      training: full,
      throughput_ratio: +(full.ok_per_s / Math.max(bare.ok_per_s, 1)).toFixed(2),
      p99_ratio: +(full.p99_ms / Math.max(bare.p99_ms, 0.001)).toFixed(2),
      p50_ratio: +(full.p50_ms / Math.max(bare.p50_ms, 0.001)).toFixed(2),
    }),
  );
} finally {
  await system.stop();
}
