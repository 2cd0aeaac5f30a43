/**
 * One customer-webhook delivery as the job record shows it. Kept apart from the
 * outbox (which needs the Durable Object's SQL storage) so the record and its
 * views stay pure modules that any runtime, the web app's type check included, can import.
 */
import { z } from "zod";

export const WebhookDeliverySchema = z.object({
  id: z.string(),
  type: z.string(),
  state: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number().int(),
  last_outcome: z.string().nullable(),
  next_attempt_at: z.number().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;
