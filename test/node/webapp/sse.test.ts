import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createSseParser, followEvents, reconnectDelayMs } from "../../../webapp/public/js/sse.js";

describe("SSE parser", () => {
  it("yields the same events however the stream is split into chunks", () => {
    const stream = 'id: 1-0\nevent: state\ndata: {"a":1}\n\n: keep-alive\n\nevent: progress\r\ndata: line one\r\ndata: line two\r\n\r\ndata: plain\n\n';
    const expected = [
      { event: "state", data: '{"a":1}', id: "1-0" },
      { event: "progress", data: "line one\nline two" },
      { event: "message", data: "plain" },
    ];
    for (const size of [1, 2, 5, 17, stream.length]) {
      const seen: unknown[] = [];
      const parser = createSseParser((message) => seen.push(message));
      for (let at = 0; at < stream.length; at += size) parser.push(stream.slice(at, at + size));
      expect(seen, `chunks of ${size}`).toEqual(expected);
    }
  });

  it("holds back an event until its blank line arrives", () => {
    const seen: unknown[] = [];
    const parser = createSseParser((message) => seen.push(message));
    parser.push("event: state\ndata: {}\n");
    expect(seen).toEqual([]);
    parser.push("\n");
    expect(seen).toHaveLength(1);
  });
});

describe("following a job's events", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it("reconnects after a dropped stream, catches up from the opening state, and stops when the job ends", async () => {
    const authorizations: (string | undefined)[] = [];
    let connections = 0;
    server = createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      connections++;
      response.writeHead(200, { "content-type": "text/event-stream" });
      if (connections === 1) {
        // The network drops mid-stream: one event, then the socket dies without the job ending.
        response.write(`event: state\ndata: ${JSON.stringify({ job: { status: "training", step: 1 } })}\n\n`);
        setTimeout(() => response.socket?.destroy(), 20);
        return;
      }
      response.write(`event: state\ndata: ${JSON.stringify({ job: { status: "training", step: 3 } })}\n\n`);
      response.end(`event: succeeded\ndata: ${JSON.stringify({ job: { status: "succeeded", step: 4 } })}\n\n`);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;

    let status = "queued";
    const steps: number[] = [];
    const connectionStates: string[] = [];
    const follower = followEvents({
      path: `http://127.0.0.1:${port}/v1/trainings/trn_x/events`,
      apiKey: "dbk_test_key",
      onEvent: (_event, data) => {
        status = data.job.status;
        steps.push(data.job.step);
      },
      onConnection: (state) => connectionStates.push(state),
      isFinished: () => status === "succeeded",
    });
    await follower.done;

    expect(steps).toEqual([1, 3, 4]);
    expect(connections).toBe(2);
    expect(authorizations).toEqual(["Bearer dbk_test_key", "Bearer dbk_test_key"]);
    expect(connectionStates).toEqual(["connecting", "live", "reconnecting", "live", "closed"]);
  });

  it("gives up at once on a 4xx answer instead of retrying forever", async () => {
    let connections = 0;
    server = createServer((_request, response) => {
      connections++;
      response.writeHead(401, { "content-type": "application/json" }).end('{"error":{"code":"unauthorized","message":"Invalid API key"}}');
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const connectionStates: string[] = [];
    const follower = followEvents({
      path: `http://127.0.0.1:${port}/v1/trainings/trn_x/events`,
      apiKey: "dbk_test_revoked",
      onEvent: () => undefined,
      onConnection: (state) => connectionStates.push(state),
      isFinished: () => false,
    });
    await follower.done;
    expect(connections).toBe(1);
    expect(connectionStates).toEqual(["connecting", "closed"]);
  });

  it("backs off from half a second to at most five", () => {
    expect([0, 1, 2, 3, 4, 10].map(reconnectDelayMs)).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });
});
