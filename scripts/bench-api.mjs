#!/usr/bin/env node
/**
 * `npm run bench:api`: throughput and latency of a status read, `GET /v1/trainings/:id`
 * (the key's account: key check and rate limit in one round trip, then the job's
 * Durable Object), next to the bare `GET /healthz` route of the same Worker, both
 * measured in the same run with autocannon against `npm start` on 127.0.0.1. The
 * account is put on the `enterprise` plan first, so the per-key limit is not what
 * is measured; any 429 is counted apart and never as throughput. The ratios say
 * what auth, rate limiting and the job read cost over Hono's own routing; absolute
 * numbers depend on the machine.
 *
 * The two routes are measured in alternating rounds (bare first in even rounds, the status
 * read first in odd ones), because a local workerd's latency tail drifts over a run: measured
 * one after the other, the bare route's own p99 was 26 ms in the first 10 s and 52 ms in the
 * third, so whichever route came second looked twice as slow. Each round pairs the two routes
 * under the same conditions; throughput is averaged over the rounds, p50/p99 are the medians of
 * the rounds', and each ratio is the median of the per-round ratios. BENCH_ROUNDS (default 4),
 * BENCH_SECONDS (per route per round, default 5) and BENCH_CONNECTIONS (default 10) tune it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { apiClient, followEvents, makePhotos, startLocalSystem } from "./lib/local-api.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
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

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One route over all rounds: answers per second averaged, refusals and errors summed, latencies the median of the rounds'. */
function pooled(results) {
  const sum = (field) => results.reduce((total, result) => total + result[field], 0);
  return {
    route: results[0].route,
    ok_per_s: Math.round(sum("ok_per_s") / results.length),
    p50_ms: median(results.map((result) => result.p50_ms)),
    p99_ms: median(results.map((result) => result.p99_ms)),
    "429s": sum("429s"),
    other_non_2xx: sum("other_non_2xx"),
    errors: sum("errors"),
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
  // Measure a settled job: while the fake backend runs, its event posts and the job's writes share the machine.
  const { status } = await followEvents(`${system.url}/v1/trainings/${training.id}/events`, system.api_key);
  console.error(`bench training ${training.id}: ${status}`);

  // Warm both paths (isolate, Durable Objects) before measuring.
  await autocannon({ url: `${system.url}/healthz`, connections, amount: 200 });
  await autocannon({ url: `${system.url}/v1/trainings/${training.id}`, headers: auth, connections, amount: 200 });

  const routes = [
    { name: "GET /healthz (bare Hono route)", url: `${system.url}/healthz`, headers: undefined },
    { name: "GET /v1/trainings/:id", url: `${system.url}/v1/trainings/${training.id}`, headers: auth },
  ];
  /** @type {ReturnType<typeof summary>[][]} one [bare, status] pair per round */
  const pairs = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    const results = [];
    for (const index of order) results[index] = summary(routes[index].name, await measure(routes[index].url, routes[index].headers));
    pairs.push(results);
    console.error(`round ${round + 1}/${rounds}: bare ${results[0].ok_per_s}/s p99 ${results[0].p99_ms} ms, status read ${results[1].ok_per_s}/s p99 ${results[1].p99_ms} ms`);
  }
  const [bare, full] = [0, 1].map((index) => pooled(pairs.map((pair) => pair[index])));
  console.table([bare, full]);
  const ratio = (field) => +median(pairs.map(([b, f]) => f[field] / Math.max(b[field], 0.001))).toFixed(2);
  console.log(
    JSON.stringify({
      connections,
      seconds,
      rounds,
      bare,
      training: full,
      throughput_ratio: ratio("ok_per_s"),
      p99_ratio: ratio("p99_ms"),
      p50_ratio: ratio("p50_ms"),
      per_round: pairs.map(([b, f]) => ({ bare: { ok_per_s: b.ok_per_s, p99_ms: b.p99_ms }, training: { ok_per_s: f.ok_per_s, p99_ms: f.p99_ms } })),
    }),
  );
} finally {
  await system.stop();
}
