/**
 * The Worker entry point: the route table. Each resource lives in its own file
 * under `routes/`; this file only decides the order middleware applies in, where
 * each router is mounted, and which Durable Object classes the runtime exports.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireApiKey } from "./auth.js";
import { limitRequestBodies } from "./body-limit.js";
import { idempotency } from "./billing/idempotency.js";
import { withBillingDocs } from "./billing/openapi.js";
import { enforceRateLimit } from "./billing/rate-limit.js";
import { botLinks } from "./bots/link-route.js";
import { bots } from "./bots/routes.js";
import { notFoundHandler, onError } from "./errors.js";
import { createRouter } from "./router.js";
import { account } from "./routes/account.js";
import { admin } from "./routes/admin.js";
import { baseModels } from "./routes/base-models.js";
import { docs } from "./routes/docs.js";
import { files } from "./routes/files.js";
import { replicateWebhook } from "./routes/replicate-webhook.js";
import { generations } from "./routes/generations.js";
import { internal } from "./routes/internal.js";
import { keys } from "./routes/keys.js";
import { models } from "./routes/models.js";
import { subjectPhotoFile } from "./routes/subject-photo-file.js";
import { subjectPhotos } from "./routes/subject-photos.js";
import { subjects } from "./routes/subjects.js";
import { trainingSamples } from "./routes/training-samples.js";
import { trainings } from "./routes/trainings.js";
import { usage } from "./routes/usage.js";

export { AccountDO } from "./accounts/account-do.js";
export { ApiKeyDO } from "./accounts/api-key-do.js";
export { BotLinkDO } from "./bots/links.js";
export { JobDO } from "./jobs/job-do.js";

const app = createRouter();
app.onError(onError);
app.notFound(notFoundHandler(() => app.routes));
// Every request body is size-capped before anything reads it (body-limit.ts has the few larger ones).
app.use("*", limitRequestBodies);
// Every answer is taken as the type it declares: a stored upload is never sniffed into HTML or script.
app.use("*", async (c, next) => {
  await next();
  try {
    c.res.headers.set("X-Content-Type-Options", "nosniff");
  } catch {
    // A Durable Object's own answer (a live event stream) has immutable headers and is not a stored file.
  }
});

// Unauthenticated: liveness (also the bare baseline of bench:api) and the API description.
app.openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    summary: "Liveness probe",
    responses: { 200: { description: "Alive", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } } },
  }),
  (c) => c.json({ ok: true }, 200),
);
app.get("/v1/openapi.json", (c) =>
  c.json(withBillingDocs(app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "DreamBooth at the edge", version: "1.0.0" } }))),
);
app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
  type: "http",
  scheme: "bearer",
  description: "An API key, dbk_live_… or dbk_test_…",
});
app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" });
app.route("/docs", docs);

app.route("/admin", admin);
app.route("/files", files);
// GPU backends: events and upload slots, authenticated by HMAC signature instead of an API key.
app.route("/internal", internal);
// Discord and Slack: authenticated by the platform's request signature, acting for the linked account.
app.route("/bots", bots);

// Signed by Replicate (Standard Webhooks), not by an API key.
app.route("/v1/webhooks/replicate", replicateWebhook);

// Everything under /v1 below this line needs an API key, is rate-limited per key, and may carry an Idempotency-Key.
app.use("/v1/*", requireApiKey);
app.use("/v1/*", enforceRateLimit);
app.use("/v1/*", idempotency);
app.route("/v1/keys", keys);
app.route("/v1/usage", usage);
app.route("/v1/account", account);
app.route("/v1/subjects", subjects);
app.route("/v1/subjects", subjectPhotos);
app.route("/v1/subjects", subjectPhotoFile);
app.route("/v1/trainings", trainings);
app.route("/v1/trainings", trainingSamples);
app.route("/v1/generations", generations);
app.route("/v1/models", baseModels);
app.route("/v1/models", models);
app.route("/v1/bot-links", botLinks);

export default app satisfies ExportedHandler<Env>;
