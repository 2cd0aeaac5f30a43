import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedHeaders } from "../../../shared/signing.js";
import { startService, type RunningService } from "./service.js";

const SECRET = "route-test-secret-0123";
let service: RunningService;

beforeAll(async () => {
  const unused = async () => {
    throw new Error("these tests submit no valid job");
  };
  service = await startService({
    port: 0,
    host: "127.0.0.1",
    secret: SECRET,
    backend: "cpu",
    device: "test host",
    handlers: { train: unused, generate: unused },
    modelsLoaded: () => ["tiny-random"],
  });
});
afterAll(() => service.stop());

async function post(path: string, body: string, secret = SECRET) {
  const response = await fetch(`${service.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await signedHeaders(secret, body)) },
    body,
  });
  return { status: response.status, json: (await response.json()) as { error?: { code: string; details?: unknown } } };
}

describe("gpu-backend routes", () => {
  it("reports backend, device, loaded models and queue depth on /healthz", async () => {
    const response = await fetch(`${service.url}/healthz`);
    expect(await response.json()).toMatchObject({
      backend: "cpu",
      device: "test host",
      model_loaded: true,
      models_loaded: ["tiny-random"],
      queue_depth: 0,
      current_job: null,
    });
  });

  it("answers 401 to a job signed with another secret", async () => {
    const { status, json } = await post("/jobs", "{}", "wrong-secret-0123456789");
    expect(status).toBe(401);
    expect(json.error?.code).toBe("invalid_signature");
  });

  it("answers 401 to an unsigned job", async () => {
    const response = await fetch(`${service.url}/jobs`, { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/missing/);
  });

  it("answers 400 with the zod issues to a signed message that breaks the contract", async () => {
    const { status, json } = await post("/jobs", JSON.stringify({ kind: "train", job_id: "j" }));
    expect(status).toBe(400);
    expect(json.error?.code).toBe("invalid_request");
    expect(Array.isArray(json.error?.details)).toBe(true);
  });

  it("answers 400 to signed bytes that are not JSON", async () => {
    const { status, json } = await post("/jobs", "{not json");
    expect(status).toBe(400);
    expect(json.error?.code).toBe("invalid_json");
  });

  it("answers 404 when canceling a job that is not running here", async () => {
    const { status, json } = await post("/jobs/job_x/cancel", JSON.stringify({ job_id: "job_x", attempt: 1 }));
    expect(status).toBe(404);
    expect(json.error?.code).toBe("job_not_running");
  });

  it("answers 404 in the envelope for unknown routes", async () => {
    const response = await fetch(`${service.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
