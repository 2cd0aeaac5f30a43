/**
 * The Worker entry point: the route table. Each resource lives in its own file
 * under `routes/`; this file only decides the order middleware applies in, where
 * each router is mounted, and which Durable Object classes the runtime exports.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireApiKey } from "./auth.js";
import { botLinks } from "./bots/link-route.js";
import { bots } from "./bots/routes.js";
import { notFoundHandler, onError } from "./errors.js";
import { createRouter } from "./router.js";
import { admin } from "./routes/admin.js";
import { files } from "./routes/files.js";
import { generations } from "./routes/generations.js";
import { internal } from "./routes/internal.js";
import { models } from "./routes/models.js";
import { subjectPhotos } from "./routes/subject-photos.js";
import { subjects } from "./routes/subjects.js";
import { trainings } from "./routes/trainings.js";

export { AccountDO } from "./accounts/account-do.js";
export { ApiKeyDO } from "./accounts/api-key-do.js";
export { BotLinkDO } from "./bots/links.js";
export { JobDO } from "./jobs/job-do.js";

const app = createRouter();
app.onError(onError);
app.notFound(notFoundHandler(() => app.routes));

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
app.doc31("/v1/openapi.json", {
  openapi: "3.1.0",
  info: { title: "DreamBooth at the edge", version: "1.0.0" },
});
app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer" });
app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });

app.route("/admin", admin);
app.route("/files", files);
// GPU backends: events and upload slots, authenticated by HMAC signature instead of an API key.
app.route("/internal", internal);
// Discord and Slack: authenticated by the platform's request signature, acting for the linked account.
app.route("/bots", bots);

// Everything under /v1 below this line needs an API key.
app.use("/v1/*", requireApiKey);
app.route("/v1/subjects", subjects);
app.route("/v1/subjects", subjectPhotos);
app.route("/v1/trainings", trainings);
app.route("/v1/generations", generations);
app.route("/v1/models", models);
app.route("/v1/bot-links", botLinks);

export default app satisfies ExportedHandler<Env>;
