#!/usr/bin/env node
/**
 * `npm start`: the whole system on this machine, with no outside connections.
 * On first start it writes `.dev.vars` with a local value for every secret the
 * Worker reads (never committed), starts each service of `services` below — the
 * Worker under `wrangler dev` and the GPU backend (`gpu-backend/src/main.ts`) on
 * the CPU with its embedded tiny model — wired by the signed push protocol, seeds
 * one dev account with a `dbk_live_…` key kept in `.wrangler/dev-api-key`, and
 * prints the URL, the key and the defaults jobs get. Ctrl-C (or any service
 * exiting) stops every service.
 *
 * Options (environment): PORT (Worker), BACKEND_PORT (GPU backend), DEFAULT_BACKEND
 * (`container`, or `fake` for placeholder runs in seconds), DEFAULT_BASE_MODEL,
 * START_STATE_DIR (Worker storage and backend scratch, so parallel runs don't
 * collide), MODELS_DIR, TFJS_BACKEND; START_GPU_BACKEND=0 starts no GPU backend (hosts
 * run elsewhere: GPU_BACKEND_URL for push, or pulling in DISPATCH_MODE=queue); and the
 * job settings of `JOB_SETTINGS` below, passed to the Worker as they are
 * (docs/operations.md).
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEV_VARS = join(root, ".dev.vars");
const DEV_KEY_FILE = join(root, ".wrangler", "dev-api-key");
/** Local-only credits of the dev account: enough for thousands of CPU trainings at the prices of functions/billing/pricing.ts. */
const DEV_CREDITS = 10_000_000;
/** What jobs run on locally unless a request or the environment says otherwise: the GPU backend started here. */
const LOCAL_DEFAULTS = { DEFAULT_BACKEND: "container", DEFAULT_BASE_MODEL: "tiny-emoji" };
/** Worker vars an operator or a fault test sets from the environment (wrangler.toml [vars] documents each). */
const JOB_SETTINGS = [
  "HEARTBEAT_TIMEOUT_S",
  "MAX_ATTEMPTS",
  "DISPATCH_MODE",
  "BACKEND_REQUEST_TIMEOUT_S",
  "BUSY_TIMEOUT_S",
  "UNREACHABLE_TIMEOUT_S",
  "QUEUE_WAIT_TIMEOUT_S",
  "JOB_QUEUE_API_BASE",
  "JOB_QUEUE_ACCOUNT_ID",
  "JOB_QUEUE_ID",
  "JOB_QUEUE_API_TOKEN",
];

const token = (bytes = 32) => randomBytes(bytes).toString("hex");
/** Same alphabet as shared/ids.ts (Crockford base32); 32 characters = 160 bits. */
const base32 = (length) => [...randomBytes(length)].map((byte) => "0123456789abcdefghjkmnpqrstvwxyz"[byte & 31]).join("");

/** A local value for every variable and secret of design.md's list (plus FILE_URL_SECRET for Worker-signed URLs). */
function localSecrets() {
  const discordKey = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("hex");
  return {
    SIGNED_URL_MODE: "worker",
    // Local webhook receivers listen on 127.0.0.1, which production refuses.
    ALLOW_PRIVATE_WEBHOOKS: "true",
    BACKEND_SIGNING_SECRET: token(),
    FILE_URL_SECRET: token(),
    GPU_BACKEND_URL: "http://127.0.0.1:8788",
    R2_ACCESS_KEY_ID: `local-${token(8)}`,
    R2_SECRET_ACCESS_KEY: token(),
    R2_ACCOUNT_ID: "local",
    ADMIN_TOKEN: token(),
    REPLICATE_API_TOKEN: `r8_local_${token(12)}`,
    REPLICATE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
    DISCORD_APPLICATION_ID: String(1e17 + Math.floor(Math.random() * 1e16)),
    DISCORD_PUBLIC_KEY: discordKey,
    DISCORD_BOT_TOKEN: `local.${token(24)}`,
    SLACK_SIGNING_SECRET: token(16),
    SLACK_BOT_TOKEN: `xoxb-local-${token(12)}`,
  };
}

function parseVars(text) {
  return Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line))
      .filter(Boolean)
      .map((match) => [match[1], match[2]]),
  );
}

/** Creates `.dev.vars`, or appends the names a newer version of this script added; never overwrites a value. */
function ensureDevVars() {
  const existing = existsSync(DEV_VARS) ? parseVars(readFileSync(DEV_VARS, "utf8")) : {};
  const missing = Object.entries(localSecrets()).filter(([name]) => !(name in existing));
  if (missing.length > 0) {
    const header = existsSync(DEV_VARS) ? "" : "# Local-only values written by scripts/start.mjs. Never commit this file.\n";
    const lines = missing.map(([name, value]) => `${name}="${value}"`).join("\n");
    writeFileSync(DEV_VARS, `${existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8").replace(/\n?$/, "\n") : header}${lines}\n`);
    console.log(`[start] wrote ${missing.length} local value(s) to .dev.vars: ${missing.map(([name]) => name).join(", ")}`);
  }
  return { ...Object.fromEntries(missing), ...existing };
}

function isPortFree(port) {
  return new Promise((resolve) => {
    const server = createServer().once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** `preferred` when it is free, else (or for 0) any free port. */
async function freePort(preferred) {
  if (preferred !== 0 && (await isPortFree(preferred))) return preferred;
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Environment for tools that must not reach the network (telemetry, remote fetches, banners). */
const OFFLINE_ENV = { CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" };

const children = [];
let stopping = false;

/** SIGTERM to every service, SIGKILL to any still running after a grace period (a training saves a checkpoint first). */
function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  const exited = running.map((child) => new Promise((resolve) => child.once("exit", resolve)));
  for (const child of running) child.kill("SIGTERM");
  const force = setTimeout(() => running.forEach((child) => child.kill("SIGKILL")), 10_000);
  void Promise.all(exited).then(() => {
    clearTimeout(force);
    process.exit(code);
  });
}

/**
 * What `npm start` shows of a `wrangler dev` line (null: nothing; START_VERBOSE=1 shows every line as it is).
 * Dropped: the table of bindings and vars (wrangler.toml says the same), the "types might be out of date" hint
 * (the `--var`s make the runtime's vars differ from the generated types' on purpose), and the 2xx log lines of
 * the GPU backend's own traffic (one event POST per training step, one /files/ request per photo and upload).
 * Explained: workerd's red "Broken pipe" error with its stack, which means only that a client closed an event
 * stream (GET …/events) while the Worker still had it open — a closed tab, or a script that stopped reading.
 */
let inBindingsTable = false;
function wranglerLine(line) {
  if (process.env.START_VERBOSE) return line;
  if (line.includes("Your Worker has access to the following bindings")) inBindingsTable = true;
  else if (inBindingsTable && !/^\s*(Binding|env\.)/.test(line)) inBindingsTable = false;
  if (inBindingsTable) return null;
  if (line.includes("Your types might be out of date") || line.includes("Using secrets defined in .dev.vars")) return null;
  if (/\[wrangler:info\] (GET|POST|PUT) \/(internal|files)\/\S+ 2\d\d /.test(line)) return null;
  if (line.includes("Broken pipe")) return "a client closed an event stream before the Worker ended it (workerd's \"Broken pipe\"; harmless)";
  if (/^\s*stack: .*workerd@/.test(line)) return null;
  return line;
}

function startService({ name, command, args, env, show = (line) => line }) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...OFFLINE_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = (stream, out) =>
    stream.on("data", (chunk) => {
      for (const line of chunk.toString().split("\n")) {
        const shown = line.trim() ? show(line) : null;
        if (shown !== null) out.write(`[${name}] ${shown}\n`);
      }
    });
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  child.on("exit", (code) => {
    if (!stopping) {
      console.error(`[start] ${name} exited (${code}); stopping everything`);
      stopAll(code ?? 1);
    }
  });
  children.push(child);
  return child;
}

async function waitFor(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

/**
 * The dev key is a live key (test keys always run on the fake backend, see docs/billing.md), so
 * local jobs really train on the CPU backend. An account found without credits (new, or new local state)
 * gets a local-only grant.
 */
async function seedDevAccount(baseUrl, adminToken) {
  mkdirSync(dirname(DEV_KEY_FILE), { recursive: true });
  const existing = existsSync(DEV_KEY_FILE) ? readFileSync(DEV_KEY_FILE, "utf8").trim() : "";
  const apiKey = existing.startsWith("dbk_live_") ? existing : `dbk_live_${base32(32)}`;
  if (apiKey !== existing) writeFileSync(DEV_KEY_FILE, `${apiKey}\n`);
  const admin = (path, body) =>
    fetch(`${baseUrl}/admin${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const response = await admin("/accounts", { api_key: apiKey, plan: "scale" });
  if (response.status !== 201) throw new Error(`seeding the dev account failed: ${response.status} ${await response.text()}`);
  const { account_id: accountId, balance } = await response.json();
  if (balance === 0) {
    const grant = await admin(`/accounts/${accountId}/credits`, { amount: DEV_CREDITS, note: "local dev" });
    if (!grant.ok) throw new Error(`granting the dev account credits failed: ${grant.status} ${await grant.text()}`);
  }
  return { apiKey, accountId };
}

/**
 * What a user needs from `npm start`, printed last so it is the last thing on the screen (the services' own logs
 * come before it): the app link to open, the key, the account, where jobs run and on which model.
 */
function printSummary({ baseUrl, apiKey, accountId, backendUrl, backendHealth, defaults, startBackend }) {
  const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
  const model = defaults.DEFAULT_BASE_MODEL;
  const modelNote =
    model === "tiny-emoji" ? " (32×32 emoji of 32 classes on 8 colours; the app's quick run takes about a minute)"
    : model === "tiny-random" ? " (RANDOM weights, a stand-in: trainings run end to end, images are noise)"
    : "";
  const rule = "  " + "─".repeat(72);
  console.log(
    `\n${rule}\n  GPU backend: ${backendUrl} (tfjs ${backendHealth.backend}, models ${backendHealth.models_loaded.join(", ")})\n` +
      `  OpenAPI:  ${baseUrl}/v1/openapi.json (rendered at ${baseUrl}/docs)\n` +
      `  account:  ${accountId} (add credits: npm run admin -- grant ${accountId} 10000)\n` +
      `  Jobs:     backend "${defaults.DEFAULT_BACKEND}", base model "${model}"${modelNote}\n` +
      `  API:      ${baseUrl}\n` +
      `  API key:  ${bold(apiKey)} (also in .wrangler/dev-api-key)\n` +
      `  App:      ${bold(`${baseUrl}/#key=${apiKey}`)}  ← open this in a browser\n${rule}\n`,
  );
  if (startBackend && model !== "tiny-random" && !backendHealth.models_loaded.includes(model)) {
    console.log(`  Warning: the GPU backend could not load "${model}" (see its log): jobs on it will fail.\n`);
  }
}

async function main() {
  process.on("SIGINT", () => stopAll(0));
  process.on("SIGTERM", () => stopAll(0));
  const vars = ensureDevVars();
  const setting = (name) => process.env[name] ?? vars[name] ?? LOCAL_DEFAULTS[name];
  const port = await freePort(Number(process.env.PORT ?? 8787));
  const startBackend = process.env.START_GPU_BACKEND !== "0";
  const backendPort = startBackend ? await freePort(Number(process.env.BACKEND_PORT ?? 8788)) : undefined;
  const baseUrl = `http://127.0.0.1:${port}`;
  const backendUrl = startBackend ? `http://127.0.0.1:${backendPort}` : process.env.GPU_BACKEND_URL;
  const stateDir = process.env.START_STATE_DIR ? resolve(process.env.START_STATE_DIR) : undefined;
  const defaults = { DEFAULT_BACKEND: setting("DEFAULT_BACKEND"), DEFAULT_BASE_MODEL: setting("DEFAULT_BASE_MODEL") };
  // `--var` overrides wrangler.toml and .dev.vars, so the Worker always pushes to the backend started here,
  // and tells clients (GET /v1/models) that it runs on this machine's CPU.
  const jobSettings = Object.fromEntries(JOB_SETTINGS.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
  const workerVars = { ...defaults, ...jobSettings, GPU_BACKEND_DEVICE: "cpu", ...(backendUrl ? { GPU_BACKEND_URL: backendUrl } : {}) };

  // Every process of the local system.
  const services = [
    {
      name: "gpu-backend",
      command: process.execPath,
      // --single-threaded-gc: see SINGLE_THREADED_GC in gpu-backend/src/dreambooth/replica-pool.ts.
      args: ["--single-threaded-gc", "--import", "tsx", join(root, "gpu-backend", "src", "main.ts")],
      env: {
        PORT: String(backendPort),
        HOST: "127.0.0.1",
        BACKEND_SIGNING_SECRET: vars.BACKEND_SIGNING_SECRET,
        DATA_DIR: stateDir ? join(stateDir, "gpu-backend") : join(root, ".data", "gpu-backend"),
        // Shared by every run, so the embedded model is created once.
        MODELS_DIR: process.env.MODELS_DIR ?? join(root, ".data", "gpu-backend", "models"),
        // The default base model is loaded before the first job (the bundled tiny-emoji unless overridden).
        PRELOAD_MODEL: defaults.DEFAULT_BASE_MODEL,
      },
      ready: `${backendUrl}/healthz`,
      enabled: startBackend,
    },
    {
      name: "worker",
      command: process.execPath,
      args: [
        join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
        "dev",
        "--ip", "127.0.0.1",
        "--port", String(port),
        "--inspector-port", "0",
        ...(stateDir ? ["--persist-to", join(stateDir, "wrangler")] : []),
        ...Object.entries(workerVars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      ],
      env: {},
      ready: `${baseUrl}/healthz`,
      show: wranglerLine,
      enabled: true,
    },
  ].filter((service) => service.enabled);
  for (const service of services) startService(service);
  await Promise.all(services.map((service) => waitFor(service.ready, 180_000)));

  const { apiKey, accountId } = await seedDevAccount(baseUrl, vars.ADMIN_TOKEN);
  const backendHealth = startBackend ? await (await fetch(`${backendUrl}/healthz`)).json() : { backend: "not started here", models_loaded: [] };
  printSummary({ baseUrl, apiKey, accountId, backendUrl, backendHealth, defaults, startBackend });
  if (process.env.START_PRINT_JSON) {
    const summary = { url: baseUrl, api_key: apiKey, account_id: accountId, gpu_backend_url: backendUrl ?? null };
    console.log(JSON.stringify({ ...summary, default_backend: defaults.DEFAULT_BACKEND, default_base_model: defaults.DEFAULT_BASE_MODEL }));
  }
}

main().catch((error) => {
  console.error(`[start] ${error.message}`);
  stopAll(1);
});
