/**
 * A customer's webhook endpoint on 127.0.0.1 for the worker tests: `POST /:inbox`
 * records the raw body and the `webhook-*` headers exactly as they arrived (so a
 * test can verify the signature itself) and answers the next status scripted for
 * that inbox (`POST /__script/:inbox {statuses}`), else 200; a scripted 3xx points
 * `Location` at the inbox `<inbox>-redirected`. `GET /:inbox` lists
 * what arrived. Nothing is verified here: verifying is the test's job.
 */
import { createServer, type IncomingMessage } from "node:http";

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  status: number;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startWebhookReceiver(): Promise<{ url: string }> {
  const inboxes = new Map<string, ReceivedWebhook[]>();
  const scripts = new Map<string, number[]>();
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const [first, second] = new URL(request.url ?? "/", "http://fake").pathname.split("/").filter(Boolean);
    const reply = (status: number, json: unknown) => {
      const redirect = status >= 300 && status < 400 ? { location: `/${first}-redirected` } : {};
      response.writeHead(status, { "content-type": "application/json", ...redirect });
      response.end(JSON.stringify(json));
    };
    if (first === "__script" && second) {
      scripts.set(second, (JSON.parse(body) as { statuses: number[] }).statuses);
      return reply(200, { ok: true });
    }
    if (!first) return reply(404, { error: "name an inbox" });
    const inbox = inboxes.get(first) ?? [];
    inboxes.set(first, inbox);
    if (request.method === "GET") return reply(200, inbox);
    const status = scripts.get(first)?.shift() ?? 200;
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name.startsWith("webhook-")).map(([name, value]) => [name, String(value)]),
    );
    inbox.push({ headers, body, status });
    reply(status, { ok: status < 300 });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("webhook receiver did not bind");
  return { url: `http://127.0.0.1:${address.port}` };
}
