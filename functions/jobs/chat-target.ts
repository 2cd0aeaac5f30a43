/**
 * Where a chat bot wants to hear that a job ended: a Discord channel (and, while
 * it is still valid, the interaction whose reply can be followed up) or a Slack
 * channel (slash commands cannot be run inside a thread). Stored on the job record
 * so the job's own Durable Object can deliver the news on its terminal state, long
 * after the chat request returned and the interaction token or `response_url` expired.
 * A target carries what the news prints (the subject's name), so delivering it needs
 * no lookup in any other object.
 */
import { z } from "zod";

/** The subject's name as the chat knows it; absent on targets stored before it was carried. */
const subjectName = z.string().max(200).optional();

export const ChatTargetSchema = z.discriminatedUnion("platform", [
  z.object({
    platform: z.literal("discord"),
    channel_id: z.string(),
    /** The interaction's token and when it was issued; usable for 15 minutes after that. */
    interaction_token: z.string().optional(),
    interaction_at: z.number().optional(),
    user_id: z.string().optional(),
    subject_name: subjectName,
  }),
  z.object({
    platform: z.literal("slack"),
    team_id: z.string(),
    channel_id: z.string(),
    user_id: z.string().optional(),
    subject_name: subjectName,
  }),
]);
export type ChatTarget = z.infer<typeof ChatTargetSchema>;
