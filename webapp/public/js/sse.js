// @ts-check
/**
 * Following a job's Server-Sent Events with an API key. `EventSource` cannot send
 * an `Authorization` header, so the stream is read with `fetch` and parsed here.
 * The service starts every stream with a `state` event holding the whole job, so
 * reconnecting after a dropped connection is enough to catch up: the app resumes
 * from that snapshot, then keeps applying changes. Reconnects back off from half
 * a second to five and stop once the job has ended, or on a 4xx answer.
 */

/** @typedef {{ event: string, data: string, id?: string }} SseMessage */

/**
 * An incremental parser of the `text/event-stream` format: feed it text as it
 * arrives, in chunks split anywhere, and it calls `onMessage` once per event.
 * @param {(message: SseMessage) => void} onMessage
 */
export function createSseParser(onMessage) {
  let buffer = "";
  /** @type {{ event: string, data: string[], id?: string }} */
  let pending = { event: "message", data: [] };

  /** @param {string} line */
  function takeLine(line) {
    if (line === "") {
      if (pending.data.length > 0) {
        onMessage({ event: pending.event, data: pending.data.join("\n"), ...(pending.id ? { id: pending.id } : {}) });
      }
      pending = { event: "message", data: [] };
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") pending.event = value;
    else if (field === "data") pending.data.push(value);
    else if (field === "id") pending.id = value;
  }

  return {
    /** @param {string} text */
    push(text) {
      buffer += text;
      // A chunk ending in "\r" may be half of "\r\n": keep it until the next chunk says.
      const heldBack = buffer.endsWith("\r") ? "\r" : "";
      const lines = buffer.slice(0, buffer.length - heldBack.length).split(/\r\n|\r|\n/);
      buffer = (lines.pop() ?? "") + heldBack;
      for (const line of lines) takeLine(line);
    },
  };
}

/** Delay before reconnect number `attempt` (0-based): 0.5 s doubling up to 5 s. @param {number} attempt */
export function reconnectDelayMs(attempt) {
  return Math.min(5000, 500 * 2 ** attempt);
}

/**
 * Waits `delayMs`, or less if the browser says it is back online (a phone leaving a tunnel).
 * @param {number} delayMs
 */
function untilRetry(delayMs) {
  return new Promise((resolve) => {
    const retry = () => {
      clearTimeout(timer);
      globalThis.removeEventListener?.("online", retry);
      resolve(undefined);
    };
    const timer = setTimeout(retry, delayMs);
    globalThis.addEventListener?.("online", retry);
  });
}

/**
 * @typedef {object} FollowOptions
 * @property {string} path        events URL on this origin
 * @property {string} apiKey
 * @property {(event: string, data: any) => void} onEvent
 * @property {(state: "connecting" | "live" | "reconnecting" | "closed") => void} onConnection
 * @property {() => boolean} isFinished  whether the job has ended (then a closed stream is final)
 */

/**
 * Follows a job until it ends or `stop()` is called.
 * @param {FollowOptions} options
 */
export function followEvents({ path, apiKey, onEvent, onConnection, isFinished }) {
  const controller = new AbortController();
  let failures = 0;

  async function connectOnce() {
    const response = await fetch(path, {
      headers: { authorization: `Bearer ${apiKey}`, accept: "text/event-stream" },
      signal: controller.signal,
      cache: "no-store",
    });
    // A 4xx (bad key, unknown job) will not get better by retrying; a 5xx or a dropped connection may.
    if (response.status >= 400 && response.status < 500) controller.abort();
    if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
    onConnection("live");
    failures = 0;
    const parser = createSseParser((message) => onEvent(message.event, JSON.parse(message.data)));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  }

  async function run() {
    onConnection("connecting");
    while (!controller.signal.aborted) {
      try {
        await connectOnce();
      } catch {
        if (controller.signal.aborted) break;
      }
      if (isFinished() || controller.signal.aborted) break;
      onConnection("reconnecting");
      await untilRetry(reconnectDelayMs(failures++));
    }
    onConnection("closed");
  }

  const done = run();
  return {
    done,
    stop() {
      controller.abort();
    },
  };
}
