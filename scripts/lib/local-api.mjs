/**
 * What `demo.mjs`, `bench-api.mjs` and the end-to-end tests share: starting `npm start`
 * as a child and reading its URL, dev key and defaults, a small JSON client for the
 * public API, following a job's Server-Sent Events to its end, and real JPEG photos
 * made with sharp (distinct, so finalize's duplicate check passes).
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

/**
 * Starts scripts/start.mjs and resolves once it printed its JSON line; `stop()` ends it and its children.
 * `quiet` passes on only start's summary (URL and key), not the services' logs; `env` adds start's
 * options (PORT, BACKEND_PORT, DEFAULT_BACKEND, START_STATE_DIR…).
 */
export function startLocalSystem({ quiet = true, env = {} } = {}) {
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: { ...process.env, ...env, START_PRINT_JSON: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  const ready = new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk.toString();
      for (const line of buffered.split("\n")) {
        if (line.startsWith("{") && line.includes('"api_key"')) resolve({ ...JSON.parse(line), stop });
        else if (line.trim() && (!quiet || /^\s+(API|API key|account|OpenAPI|Jobs|GPU backend):/.test(line))) console.log(line);
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
    child.once("exit", (code) => reject(new Error(`npm start exited early (${code})`)));
  });
  return ready;
}

export function apiClient(baseUrl, apiKey) {
  async function request(method, path, body) {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${JSON.stringify(payload)}`);
    return payload;
  }
  return {
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    delete: (path) => request("DELETE", path),
  };
}

/**
 * Reads a job's SSE stream until the job view in an event reaches a terminal status, and
 * returns that view; `onEvent(name, data)` sees every event (`data.detail` is the backend's event).
 * @param {string} url
 * @param {string} apiKey
 * @param {(event: string | undefined, data: any) => void} [onEvent]
 * @returns {Promise<any>}
 */
export async function followEvents(url, apiKey, onEvent = () => {}) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, accept: "text/event-stream" } });
  if (!response.ok) throw new Error(`events: ${response.status} ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffered = "";
  let finished = null;
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
      if (!data?.job) continue;
      onEvent(event, data);
      if (TERMINAL.has(data.job.status)) finished = data.job;
    }
  }
  // Read to the end: the Worker closes the stream when the job ends, and a client that hangs up first makes
  // workerd log a "Broken pipe" error.
  if (finished) return finished;
  throw new Error("event stream ended before the job finished");
}

/** `count` distinct 512×512 JPEGs: a colour gradient with a disc whose place depends on the index. */
export async function makePhotos(count) {
  const photos = [];
  for (let i = 0; i < count; i++) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512">
      <defs><linearGradient id="g"><stop offset="0" stop-color="hsl(${i * 67},70%,60%)"/><stop offset="1" stop-color="#223"/></linearGradient></defs>
      <rect width="512" height="512" fill="url(#g)"/><circle cx="${120 + i * 60}" cy="256" r="90" fill="#c84"/></svg>`;
    photos.push({ name: `photo-${i + 1}.jpg`, bytes: await sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer() });
  }
  return photos;
}
