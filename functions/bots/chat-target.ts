/**
 * Where a chat bot wants to hear that a job ended: a Discord channel (and, while
 * it is still valid, the interaction whose reply can be followed up) or a Slack
 * channel (slash commands cannot be run inside a thread). Stored on the job record
 * so the job's own Durable Object can deliver the news on its terminal state, long
 * after the chat request returned and the interaction token or `response_url` expired.
 */
import { z } from "zod";

export const ChatTargetSchema = z.discriminatedUnion("platform", [
  z.object({
    platform: z.literal("discord"),
    channel_id: z.string(),
    /** The interaction's token and when it was issued; usable for 15 minutes after that. */
    interaction_token: z.string().optional(),
    interaction_at: z.number().optional(),
    user_id: z.string().optional(),
  }),
  z.object({
    platform: z.literal("slack"),
    team_id: z.string(),
    channel_id: z.string(),
    user_id: z.string().optional(),
  }),
]);
export type ChatTarget = z.infer<typeof ChatTargetSchema>;
