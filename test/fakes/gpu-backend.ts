/**
 * A local stand-in for our GPU service's intake (`POST /jobs`, `POST /jobs/:id/cancel`)
 * on 127.0.0.1, for the container backend's tests: it checks the HMAC signature with
 * shared/signing.ts exactly as the real service must, validates the message against
 * the shared schema, and remembers what it got. `/__script/:job_id` makes the next
 * dispatches of a job (named by job id, or by the subject identifier of a training not yet
 * created) answer 503 (busy), 400 (refused) or 0 (never: a frozen host that accepted the
 * connection, answered only after a minute); `/__received/:job_id` tells
 * a test what arrived. It never sends events: tests play the backend's side themselves.
 * It doubles as a client's webhook receiver: `POST /__webhook/:key` records the body
 * (and answers 500 when the key starts with `fail`), `GET /__webhook/:key` lists them.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { CancelJobSchema, JobMessageSchema, verifySignature } from "../../shared/index.js";

interface Received {
  jobs: unknown[];
  cancels: unknown[];
  rejected_signatures: number;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakeGpuBackend(secret: string): Promise<{ url: string; server: Server }> {
  const received = new Map<string, Received>();
  const scripts = new Map<string, number[]>();
  const webhooks = new Map<string, unknown[]>();
  const entry = (jobId: string) => {
    if (!received.has(jobId)) received.set(jobId, { jobs: [], cancels: [], rejected_signatures: 0 });
    return received.get(jobId)!;
  };

  const server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.end(JSON.stringify(body));
    };
    const body = await readBody(request);
    const url = new URL(request.url ?? "/", "http://fake");
    const [, first, jobId, action] = url.pathname.split("/");

    if (first === "__received" && request.method === "GET") return reply(200, entry(jobId));
    if (first === "__webhook") {
      const calls = webhooks.get(jobId) ?? [];
      webhooks.set(jobId, calls);
      if (request.method === "GET") return reply(200, calls);
      calls.push(JSON.parse(body));
      return reply(jobId.startsWith("fail") ? 500 : 200, { ok: true });
    }
    if (first === "__script" && request.method === "POST") {
      scripts.set(jobId, (JSON.parse(body) as { statuses: number[] }).statuses);
      return reply(200, { ok: true });
    }

    const signature = await verifySignature(
      secret,
      body,
      request.headers["x-dbe-timestamp"] as string | undefined,
      request.headers["x-dbe-signature"] as string | undefined,
    );
    if (first === "jobs" && !jobId && request.method === "POST") {
      const message = JobMessageSchema.safeParse(JSON.parse(body));
      const id = message.success ? message.data.job_id : "invalid";
      if (!signature.ok) {
        entry(id).rejected_signatures++;
        return reply(401, { error: signature.reason });
      }
      if (!message.success) return reply(400, { error: "invalid job message", issues: message.error.issues });
      entry(id).jobs.push(message.data);
      const identifier = message.data.kind === "train" ? message.data.subject.identifier : "";
      const scripted = (scripts.get(id) ?? scripts.get(identifier))?.shift();
      if (scripted === 503) return reply(503, { error: "all GPUs busy" }, { "retry-after": "1" });
      if (scripted === 0) return void setTimeout(() => reply(202, { accepted: "a minute late" }), 60_000).unref();
      if (scripted !== undefined) return reply(scripted, { error: `scripted ${scripted}` });
      return reply(202, { accepted: true });
    }
    if (first === "jobs" && action === "cancel" && request.method === "POST") {
      if (!signature.ok) return reply(401, { error: signature.reason });
      entry(jobId).cancels.push(CancelJobSchema.parse(JSON.parse(body)));
      return reply(202, { canceling: true });
    }
    reply(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // The test runner must be able to exit while this server is still listening.
  server.unref();
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("fake GPU backend did not bind");
  return { url: `http://127.0.0.1:${address.port}`, server };
}
