/**
 * `GET /v1/usage`: the account's available credits, what is held for running jobs,
 * and the ledger page by page (newest first). Every entry but a grant names the job
 * it belongs to, so a charge can always be traced to its training or generation.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { accountStore } from "../accounts/account-do.js";
import { requireLiveKey } from "../accounts/live-only.js";
import { createRouter } from "../router.js";
import { PageQuerySchema } from "../subjects/schemas.js";
import { security } from "./job-actions.js";
import { errorResponse, errorResponses, jsonContent } from "../responses.js";

const ReservationSchema = z
  .object({
    job_id: z.string(),
    kind: z.string(),
    amount: z.number().int(),
    state: z.enum(["reserved", "settled", "released"]),
    created_at: z.number().int(),
    finished_at: z.number().int().nullable(),
  })
  .openapi("Reservation");

const LedgerEntrySchema = z
  .object({
    seq: z.number().int(),
    type: z.enum(["grant", "reserve", "settle", "release"]),
    job_id: z.string().nullable(),
    amount: z.number().int().openapi({ description: "Credits added (positive) or taken (negative)" }),
    balance_after: z.number().int(),
    note: z.string().nullable(),
    created_at: z.number().int(),
  })
  .openapi("LedgerEntry");

export const UsageSchema = z
  .object({
    balance: z.number().int().openapi({ description: "Credits available for new jobs" }),
    reserved: z.number().int().openapi({ description: "Credits held for jobs still running" }),
    reservations: z.array(ReservationSchema),
    ledger: z.object({ items: z.array(LedgerEntrySchema), next_cursor: z.string().nullable() }),
  })
  .openapi("Usage");

const getUsage = createRoute({
  method: "get",
  path: "/",
  tags: ["billing"],
  summary: "Credits balance, reservations and the ledger",
  security,
  request: { query: PageQuerySchema },
  responses: { 200: jsonContent(UsageSchema, "Usage"), ...errorResponses, 403: errorResponse("Credits are live data: a test key cannot read them") },
});

export const usage = createRouter().openapi(getUsage, async (c) => {
  requireLiveKey(c.get("keyMode"), "read the account's credits");
  return c.json(await accountStore(c.env, c.get("accountId")).usage(c.req.valid("query")), 200);
});
