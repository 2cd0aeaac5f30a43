import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { LiveEvents } from "./live-events";

/** Reads the stream until `until` appears in the text or the time is up. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: RegExp, timeoutMs: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!until.test(text) && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((resolve) => setTimeout(resolve, deadline - Date.now()))]);
    if (!chunk || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text;
}

it("keeps a quiet event stream alive with comment lines, then closes it with the job", async () => {
  const stub = env.JOBS.get(env.JOBS.idFromName("live-events-keep-alive"));
  await runInDurableObject(stub, async (_, state) => {
    const live = new LiveEvents(state, 30);
    const response = live.open(new Request("https://x/events"), { event: "state", data: { status: "training" } }, false);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const opened = await readUntil(reader, /(: keep-alive\n\n){2}/, 2000);
    expect(opened.startsWith('event: state\ndata: {"status":"training"}\n\n')).toBe(true);
    expect(opened.match(/: keep-alive\n\n/g)?.length).toBeGreaterThanOrEqual(2);

    live.broadcast({ event: "progress", data: { step: 3 }, id: "1-3" });
    expect(await readUntil(reader, /event: progress/, 2000)).toContain('id: 1-3\nevent: progress\ndata: {"step":3}\n\n');
    live.closeAll();
    expect(await readUntil(reader, /$^/, 200)).not.toContain("event:");
    expect((await reader.read()).done).toBe(true);
  });
});
