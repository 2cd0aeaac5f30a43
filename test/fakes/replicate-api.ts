/**
 * A local fake of Replicate's HTTP API on 127.0.0.1, following the documented
 * endpoints, JSON shapes, statuses and error bodies closely enough that the real
 * `replicate` client talks to it unchanged: models (get/create), trainings
 * (create on a model version, get, cancel), predictions (create, get, cancel), the
 * default webhook secret, and the files the outputs point at.
 *
 * Nothing here runs on its own: a test drives each job through its statuses with
 * the `/_fake/…` control routes, and each step returns the webhook Replicate would
 * send — signed the Standard Webhooks way, here with node:crypto so the Worker's
 * verifier is checked against an independent implementation. The test then
 * delivers it once, twice, late, out of order, re-signed or never.
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const FAKE_REPLICATE_TOKEN = "r8_fake_test_token_0123456789";
export const FAKE_WEBHOOK_SECRET = `whsec_${Buffer.from("fake replicate webhook signing key").toString("base64")}`;

/** The inputs cog-sdxl's `train` and `predict` declare; anything else is a 422, as on Replicate. */
const TRAINING_INPUTS = new Set([
  "input_images", "seed", "resolution", "train_batch_size", "num_train_epochs", "max_train_steps", "is_lora",
  "unet_learning_rate", "ti_lr", "lora_lr", "lora_rank", "lr_scheduler", "lr_warmup_steps", "token_string",
  "caption_prefix", "mask_target_prompts", "crop_based_on_salience", "use_face_detection_instead",
  "clipseg_temperature", "verbose", "checkpointing_steps", "input_images_filetype",
]);
const PREDICTION_INPUTS = new Set([
  "prompt", "negative_prompt", "image", "mask", "width", "height", "num_outputs", "scheduler", "num_inference_steps",
  "guidance_scale", "prompt_strength", "seed", "refine", "high_noise_frac", "refine_steps", "apply_watermark",
  "lora_scale", "replicate_weights", "disable_safety_checker",
]);

type Status = "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";
type WebhookEvent = "start" | "output" | "logs" | "completed";

interface Job {
  kind: "training" | "prediction";
  id: string;
  model: string;
  version: string;
  destination?: string;
  input: Record<string, unknown>;
  status: Status;
  output: unknown;
  logs: string;
  error: string | null;
  webhook?: string;
  webhook_events_filter?: WebhookEvent[];
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

interface InjectedFailure {
  method: string;
  pathPrefix: string;
  /** Only requests whose JSON body contains this text fail, so parallel test files do not trip each other. */
  bodyIncludes?: string;
  status: number;
  times: number;
  retryAfterS?: number;
  detail: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
}

export interface SignedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
}

const TERMINAL = new Set<Status>(["succeeded", "failed", "canceled", "aborted"]);

/** Deterministic stand-ins for the trainer's weights tarball and a rendered PNG. */
export function fakeWeights(id: string): Buffer {
  return Buffer.concat([Buffer.from(`trained_model.tar of ${id}\n`), Buffer.alloc(300_000, id.charCodeAt(0))]);
}
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export function fakePng(id: string, index: number, width = 64, height = 64): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write("IHDR", 4, "latin1");
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8;
  ihdr[17] = 2;
  return Buffer.concat([PNG_SIGNATURE, ihdr, Buffer.from(`fake image ${index} of ${id}`)]);
}

function newId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(26), (byte) => alphabet[byte % alphabet.length]).join("");
}

function sign(id: string, timestamp: number, body: string): string {
  const key = Buffer.from(FAKE_WEBHOOK_SECRET.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export class FakeReplicate {
  private server?: Server;
  origin = "";
  readonly models = new Map<string, { owner: string; name: string; visibility: string; hardware: string }>();
  readonly jobs = new Map<string, Job>();
  readonly requests: RecordedRequest[] = [];
  private failures: InjectedFailure[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.json(res, 500, { detail: String(error), status: 500 }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    // The test runner must be able to exit while this server is still listening.
    this.server.unref();
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  reset(): void {
    this.models.clear();
    this.jobs.clear();
    this.requests.length = 0;
    this.failures = [];
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  private view(job: Job): Record<string, unknown> {
    const base = `${this.origin}/v1/${job.kind === "training" ? "trainings" : "predictions"}/${job.id}`;
    return {
      id: job.id,
      model: job.model,
      version: job.version,
      ...(job.kind === "training" ? { destination: job.destination } : {}),
      input: job.input,
      logs: job.logs,
      output: job.output,
      error: job.error,
      status: job.status,
      source: "api",
      data_removed: false,
      created_at: job.created_at,
      started_at: job.started_at,
      completed_at: job.completed_at,
      ...(job.webhook ? { webhook: job.webhook, webhook_events_filter: job.webhook_events_filter } : {}),
      metrics: TERMINAL.has(job.status) ? { predict_time: 1.5, total_time: 2 } : {},
      urls: { get: base, cancel: `${base}/cancel`, web: `https://replicate.com/p/${job.id}` },
    };
  }

  /** The signed webhook Replicate would send for `job` now, or null when its filter excludes `event`. */
  webhookFor(job: Job, event: WebhookEvent, timestamp = Math.floor(Date.now() / 1000)): SignedWebhook | null {
    if (!job.webhook) return null;
    const filter = job.webhook_events_filter ?? ["start", "output", "logs", "completed"];
    if (!filter.includes(event)) return null;
    const body = JSON.stringify(this.view(job));
    const id = `msg_${newId()}`;
    return {
      url: job.webhook,
      body,
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": sign(id, timestamp, body),
      },
    };
  }

  private async readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? JSON.parse(text) : undefined;
  }

  private invalidInput(allowed: Set<string>, input: Record<string, unknown>): string[] {
    return Object.keys(input).filter((key) => !allowed.has(key));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const method = req.method ?? "GET";
    const body = await this.readBody(req);
    if (url.pathname.startsWith("/_fake/")) return this.control(method, url.pathname, body, res);
    if (url.pathname.startsWith("/files/")) return this.file(url.pathname, res);

    this.requests.push({ method, path: url.pathname, body, authorization: req.headers.authorization });
    const bodyText = JSON.stringify(body ?? null);
    const failure = this.failures.find(
      (f) =>
        f.method === method &&
        url.pathname.startsWith(f.pathPrefix) &&
        (f.bodyIncludes === undefined || bodyText.includes(f.bodyIncludes)) &&
        f.times > 0,
    );
    if (failure) {
      failure.times--;
      const headers: Record<string, string> = failure.retryAfterS ? { "retry-after": String(failure.retryAfterS) } : {};
      return this.json(res, failure.status, { detail: failure.detail, status: failure.status }, headers);
    }
    if (req.headers.authorization !== `Bearer ${FAKE_REPLICATE_TOKEN}`) {
      return this.json(res, 401, { title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 });
    }
    return this.api(method, url.pathname.replace(/^\/v1/, ""), body as Record<string, unknown> | undefined, res);
  }

  private api(method: string, path: string, body: Record<string, unknown> | undefined, res: ServerResponse): void {
    let match: RegExpMatchArray | null;
    if (method === "GET" && path === "/webhooks/default/secret") return this.json(res, 200, { key: FAKE_WEBHOOK_SECRET });

    if (method === "POST" && path === "/models") {
      const { owner, name, visibility, hardware } = body as Record<string, string>;
      if (!owner || !name || !visibility || !hardware) {
        return this.json(res, 422, { title: "Invalid request", detail: "owner, name, visibility and hardware are required", status: 422 });
      }
      if (this.models.has(`${owner}/${name}`)) {
        return this.json(res, 409, { title: "Conflict", detail: "A model with that name and owner already exists.", status: 409 });
      }
      this.models.set(`${owner}/${name}`, { owner, name, visibility, hardware });
      return this.json(res, 201, { url: `https://replicate.com/${owner}/${name}`, owner, name, visibility, latest_version: null });
    }
    if (method === "GET" && (match = path.match(/^\/models\/([^/]+)\/([^/]+)$/))) {
      const model = this.models.get(`${match[1]}/${match[2]}`);
      if (!model) return this.json(res, 404, { detail: "Not found.", status: 404 });
      return this.json(res, 200, { ...model, url: `https://replicate.com/${model.owner}/${model.name}`, latest_version: null });
    }

    if (method === "POST" && (match = path.match(/^\/models\/([^/]+)\/([^/]+)\/versions\/([^/]+)\/trainings$/))) {
      const { destination, input = {}, webhook, webhook_events_filter } = body as Record<string, never>;
      if (!destination || !this.models.has(destination)) {
        return this.json(res, 404, { title: "Destination not found", detail: `The destination model ${destination} does not exist`, status: 404 });
      }
      const invalid = this.invalidInput(TRAINING_INPUTS, input);
      if (invalid.length > 0 || typeof (input as Record<string, unknown>).input_images !== "string") {
        return this.json(res, 422, {
          title: "Input validation failed",
          detail: invalid.map((key) => `- input: Additional property ${key} is not allowed`).join("\n") || "- input: input_images is required",
          status: 422,
        });
      }
      return this.json(res, 201, this.view(this.create("training", `${match[1]}/${match[2]}`, match[3]!, input, webhook, webhook_events_filter, destination)));
    }
    if (method === "POST" && path === "/predictions") {
      const { version, input = {}, webhook, webhook_events_filter } = body as Record<string, never>;
      const invalid = this.invalidInput(PREDICTION_INPUTS, input);
      if (invalid.length > 0) {
        return this.json(res, 422, {
          title: "Input validation failed",
          detail: invalid.map((key) => `- input: Additional property ${key} is not allowed`).join("\n"),
          status: 422,
        });
      }
      return this.json(res, 201, this.view(this.create("prediction", "stability-ai/sdxl", version, input, webhook, webhook_events_filter)));
    }
    if ((match = path.match(/^\/(trainings|predictions)\/([^/]+)(\/cancel)?$/))) {
      const job = this.jobs.get(match[2]!);
      if (!job || job.kind !== (match[1] === "trainings" ? "training" : "prediction")) {
        return this.json(res, 404, { detail: "Not found.", status: 404 });
      }
      if (match[3] && method === "POST") {
        if (!TERMINAL.has(job.status)) this.setStatus(job, "canceled");
        return this.json(res, 200, this.view(job));
      }
      if (!match[3] && method === "GET") return this.json(res, 200, this.view(job));
    }
    return this.json(res, 404, { detail: "Not found.", status: 404 });
  }

  private create(
    kind: Job["kind"],
    model: string,
    version: string,
    input: Record<string, unknown>,
    webhook?: string,
    webhook_events_filter?: WebhookEvent[],
    destination?: string,
  ): Job {
    const job: Job = {
      kind,
      id: newId(),
      model,
      version,
      destination,
      input,
      status: "starting",
      output: null,
      logs: "",
      error: null,
      webhook,
      webhook_events_filter,
      created_at: new Date().toISOString(),
      started_at: null,
      completed_at: null,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  private setStatus(job: Job, status: Status): void {
    job.status = status;
    if (status === "processing" && !job.started_at) job.started_at = new Date().toISOString();
    if (TERMINAL.has(status)) job.completed_at = new Date().toISOString();
  }

  /** Moves a job on and returns the webhook that step makes (null when it makes none). */
  advance(id: string, step: { status?: Status; logs?: string; error?: string; timestamp?: number }): SignedWebhook | null {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no job ${id}`);
    let event: WebhookEvent = "logs";
    if (step.logs !== undefined) job.logs += step.logs;
    if (step.status && step.status !== job.status) {
      if (step.status === "processing") event = "start";
      if (TERMINAL.has(step.status)) event = "completed";
      this.setStatus(job, step.status);
      if (step.status === "succeeded") job.output = this.outputOf(job);
      if (step.status === "failed") job.error = step.error ?? "Training failed";
    }
    return this.webhookFor(job, event, step.timestamp);
  }

  private outputOf(job: Job): unknown {
    if (job.kind === "training") {
      return { version: `${job.destination}:${newId()}${newId()}`.slice(0, 100), weights: `${this.origin}/files/${job.id}/trained_model.tar` };
    }
    const count = Number(job.input.num_outputs ?? 1);
    return Array.from({ length: count }, (_, index) => `${this.origin}/files/${job.id}/out-${index}.png`);
  }

  private file(path: string, res: ServerResponse): void {
    const match = path.match(/^\/files\/([^/]+)\/(trained_model\.tar|out-(\d+)\.png)$/);
    const job = match && this.jobs.get(match[1]!);
    if (!match || !job) return this.json(res, 404, { detail: "Not found.", status: 404 });
    const png = match[3] !== undefined;
    const bytes = png
      ? fakePng(job.id, Number(match[3]), Number(job.input.width ?? 64), Number(job.input.height ?? 64))
      : fakeWeights(job.id);
    res.writeHead(200, { "content-type": png ? "image/png" : "application/x-tar", "content-length": String(bytes.length) });
    res.end(bytes);
  }

  private control(method: string, path: string, body: unknown, res: ServerResponse): void {
    const args = (body ?? {}) as Record<string, unknown>;
    if (method === "POST" && path === "/_fake/reset") {
      this.reset();
      return this.json(res, 200, { ok: true });
    }
    if (method === "GET" && path === "/_fake/state") {
      return this.json(res, 200, {
        requests: this.requests,
        models: [...this.models.values()],
        jobs: [...this.jobs.values()].map((job) => this.view(job)),
      });
    }
    if (method === "POST" && path === "/_fake/fail") {
      this.failures.push({ detail: "Injected failure", times: 1, ...args } as unknown as InjectedFailure);
      return this.json(res, 200, { ok: true });
    }
    if (method === "POST" && path === "/_fake/models") {
      const { owner, name } = args as { owner: string; name: string };
      this.models.set(`${owner}/${name}`, { owner, name, visibility: "private", hardware: "gpu-l40s" });
      return this.json(res, 200, { ok: true });
    }
    const advance = path.match(/^\/_fake\/jobs\/([^/]+)\/advance$/);
    if (method === "POST" && advance) {
      try {
        return this.json(res, 200, { webhook: this.advance(advance[1]!, args as Parameters<FakeReplicate["advance"]>[1]) });
      } catch (error) {
        return this.json(res, 404, { detail: String(error) });
      }
    }
    const resign = path.match(/^\/_fake\/jobs\/([^/]+)\/webhook$/);
    if (method === "POST" && resign) {
      const job = this.jobs.get(resign[1]!);
      if (!job) return this.json(res, 404, { detail: "no such job" });
      const { event = "logs", timestamp } = args as { event?: WebhookEvent; timestamp?: number };
      return this.json(res, 200, { webhook: this.webhookFor(job, event, timestamp) });
    }
    return this.json(res, 404, { detail: "unknown control route" });
  }
}
