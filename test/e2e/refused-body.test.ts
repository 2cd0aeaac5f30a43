/**
 * A refused chunked body must leave the runtime healthy. Under `wrangler dev` an
 * answer that left while the client was still sending made the dev proxy count a
 * crash, and the next non-GET request got "Your worker restarted mid-request"
 * (503). This runs the real `npm start` and a raw chunked client, as the probe did.
 */
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiClient, startLocalSystem } from "../../scripts/lib/local-api.mjs";

type System = Awaited<ReturnType<typeof startLocalSystem>>;
let system: System;
const stateDir = mkdtempSync(join(tmpdir(), "refused-body-"));

beforeAll(async () => {
  system = await startLocalSystem({ env: { PORT: "0", BACKEND_PORT: "0", START_STATE_DIR: stateDir, DEFAULT_BACKEND: "fake" } });
});
afterAll(async () => {
  await system?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** Sends `total` bytes chunked (no Content-Length) on a fresh connection; resolves to the status. */
function sendChunked(path: string, method: string, contentType: string, first: number[], total: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(path, system.url), {
      method,
      agent: false,
      headers: { authorization: `Bearer ${system.api_key}`, "content-type": contentType, "transfer-encoding": "chunked" },
    });
    request.on("response", (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", reject);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    chunk.set(first);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!request.write(chunk)) return void request.once("drain", pump);
      }
      request.end();
    };
    pump();
  });
}

async function nextPostStatus(): Promise<number> {
  const response = await fetch(`${system.url}/v1/subjects`, {
    method: "POST",
    headers: { authorization: `Bearer ${system.api_key}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "next", class_noun: "dog" }),
  });
  await response.arrayBuffer();
  return response.status;
}

it("after a refused chunked 11 MB photo or 200 KB JSON body, the next POST is served (not a 503)", async () => {
  const subject = await apiClient(system.url, system.api_key).post("/v1/subjects", { name: "probe", class_noun: "dog" });
  for (let round = 0; round < 2; round++) {
    expect(await sendChunked(`/v1/subjects/${subject.id}/images/big.jpg`, "PUT", "image/jpeg", [0xff, 0xd8, 0xff], 11 * 1024 * 1024)).toBe(413);
    expect(await nextPostStatus()).toBe(201);
    expect(await sendChunked("/v1/subjects", "POST", "application/json", [0x7b], 200 * 1024)).toBe(413);
    expect(await nextPostStatus()).toBe(201);
  }
});
