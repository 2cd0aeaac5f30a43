/** The Worker entry point. */
import { Hono } from "hono";

const app = new Hono<{ Bindings: Env }>();
app.get("/healthz", (c) => c.json({ ok: true }));

export default app satisfies ExportedHandler<Env>;
