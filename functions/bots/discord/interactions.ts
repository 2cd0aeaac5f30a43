/**
 * `POST /bots/discord/interactions`: Discord's interactions endpoint. Every request
 * is signature-checked first (401 otherwise), PING answers PONG, and `/dreambooth`
 * subcommands answer within Discord's 3 seconds with a deferred ephemeral reply
 * (type 5) while the real work — downloads, photo checks, starting jobs — runs
 * after the response (`waitUntil`) and edits that reply with progress, or with
 * what went wrong, for the invoking user only. What happens after the interaction
 * token expires (a training's end, images) is posted by the job itself (`notify`).
 */
import type { Context } from "hono";
import { z } from "zod";
import { ApiError, jsonBodyOrThrow } from "../../errors.js";
import { originOf } from "../../caller.js";
import { requireSecret } from "../../secrets.js";
import type { AppEnv } from "../../types.js";
import { describeFailure, imagineFromChat, statusReport, subjectsReport, trainFromChat, type ChatFile } from "../actions.js";
import type { ChatTarget } from "../../jobs/chat-target.js";
import { linkedAccount, LinkCodeSchema, redeemLinkCode } from "../links.js";
import { discordConfig, editOriginal, type DiscordConfig } from "./api.js";
import { verifyDiscordSignature } from "./verify.js";

const INTERACTION = { PING: 1, APPLICATION_COMMAND: 2 } as const;
const RESPONSE = { PONG: 1, CHANNEL_MESSAGE: 4, DEFERRED_CHANNEL_MESSAGE: 5 } as const;
const EPHEMERAL = 64;
/** "Administrator" and "Manage Server" permission bits: linking a server to an account is an admin act. */
const ADMINISTRATOR = 1n << 3n;
const MANAGE_GUILD = 1n << 5n;

const LeafOptionSchema = z.object({ name: z.string(), type: z.number().int(), value: z.union([z.string(), z.number(), z.boolean()]) });
const SubcommandSchema = z.object({ name: z.string(), type: z.literal(1), options: z.array(LeafOptionSchema).default([]) });
type Subcommand = z.infer<typeof SubcommandSchema>;

const AttachmentSchema = z.object({
  id: z.string(),
  filename: z.string(),
  size: z.number().int().nonnegative(),
  url: z.url(),
  content_type: z.string().optional(),
});

const UserSchema = z.object({ id: z.string() });

export const InteractionSchema = z.object({
  type: z.number().int(),
  token: z.string().optional(),
  guild_id: z.string().optional(),
  channel_id: z.string().optional(),
  member: z.object({ user: UserSchema, permissions: z.string().regex(/^\d+$/) }).optional(),
  user: UserSchema.optional(),
  data: z
    .object({
      name: z.string(),
      options: z.array(SubcommandSchema).default([]),
      resolved: z.object({ attachments: z.record(z.string(), AttachmentSchema).default({}) }).default({ attachments: {} }),
    })
    .optional(),
});
type Interaction = z.infer<typeof InteractionSchema>;

export const UNLINKED_MESSAGE =
  "This server isn't linked to a DreamBooth account yet. The account owner creates a code with " +
  "`POST /v1/bot-links` (their API key), then someone with Manage Server runs `/dreambooth link code:<code>` here.";

const reply = (content: string, ephemeral = true) => ({
  type: RESPONSE.CHANNEL_MESSAGE,
  data: { content, allowed_mentions: { parse: [] }, ...(ephemeral ? { flags: EPHEMERAL } : {}) },
});

function optionValue(subcommand: Subcommand, name: string): string | number | boolean | undefined {
  return subcommand.options.find((option) => option.name === name)?.value;
}

/** The attached photos in option order (photo1, photo2, …). */
function attachedPhotos(interaction: Interaction, subcommand: Subcommand): ChatFile[] {
  const attachments = interaction.data?.resolved.attachments ?? {};
  return subcommand.options
    .filter((option) => /^photo\d+$/.test(option.name))
    .sort((a, b) => Number(a.name.slice(5)) - Number(b.name.slice(5)))
    .map((option) => attachments[String(option.value)])
    .filter((attachment) => attachment !== undefined)
    .map((attachment) => ({ name: attachment.filename, size: attachment.size, url: attachment.url }));
}

export async function discordInteractions(c: Context<AppEnv>): Promise<Response> {
  const publicKey = requireSecret(c.env, "DISCORD_PUBLIC_KEY");
  const config = discordConfig(c.env);
  const raw = new TextDecoder().decode(await c.req.arrayBuffer());
  const signed = await verifyDiscordSignature(publicKey, c.req.header("x-signature-ed25519"), c.req.header("x-signature-timestamp"), raw);
  if (!signed) throw new ApiError(401, "invalid_signature", "Missing or invalid Discord request signature");
  const interaction = jsonBodyOrThrow(raw, InteractionSchema, "a Discord interaction");

  if (interaction.type === INTERACTION.PING) return c.json({ type: RESPONSE.PONG });
  const subcommand = interaction.data?.options[0];
  if (interaction.type !== INTERACTION.APPLICATION_COMMAND || interaction.data?.name !== "dreambooth" || !subcommand) {
    return c.json(reply("I only understand `/dreambooth` commands."));
  }
  const { guild_id: guildId, channel_id: channelId, token } = interaction;
  if (!guildId || !channelId || !token) return c.json(reply("Use `/dreambooth` in a channel of a server the bot is in."));

  if (subcommand.name === "link") return c.json(reply(await linkGuild(c.env, interaction, guildId, subcommand)));
  const accountId = await linkedAccount(c.env, "discord", guildId);
  if (!accountId) return c.json(reply(UNLINKED_MESSAGE));

  const notify: ChatTarget = {
    platform: "discord",
    channel_id: channelId,
    interaction_token: token,
    interaction_at: Date.now(),
    user_id: interaction.member?.user.id ?? interaction.user?.id,
  };
  const work = runCommand(c.env, config, { interaction, subcommand, accountId, notify, origin: originOf(c.req.url) });
  c.executionCtx.waitUntil(work);
  return c.json({ type: RESPONSE.DEFERRED_CHANNEL_MESSAGE, data: { flags: EPHEMERAL } });
}

async function linkGuild(env: Env, interaction: Interaction, guildId: string, subcommand: Subcommand): Promise<string> {
  const permissions = BigInt(interaction.member?.permissions ?? "0");
  if ((permissions & (ADMINISTRATOR | MANAGE_GUILD)) === 0n) return "Only members with the Manage Server permission can link this server.";
  const code = LinkCodeSchema.safeParse(String(optionValue(subcommand, "code") ?? ""));
  if (!code.success) return "That doesn't look like a link code (8 letters and digits from `POST /v1/bot-links`).";
  const accountId = await redeemLinkCode(env, "discord", guildId, code.data);
  return accountId
    ? "This server is now linked to your DreamBooth account. Try `/dreambooth train`."
    : "That code is unknown, already used or expired; create a new one with `POST /v1/bot-links`.";
}

interface CommandRun {
  interaction: Interaction;
  subcommand: Subcommand;
  accountId: string;
  notify: Extract<ChatTarget, { platform: "discord" }>;
  origin: string;
}

/** The deferred part: does the work and edits the deferred reply with the outcome, or with what went wrong. */
async function runCommand(env: AppEnv["Bindings"], config: DiscordConfig, run: CommandRun): Promise<void> {
  const edit = (content: string) => editOriginal(config, run.notify.interaction_token!, { content, allowed_mentions: { parse: [] } });
  try {
    await edit(await commandOutcome(env, run, edit));
  } catch (error) {
    await edit(`⚠️ ${describeFailure(error)}`).catch((failure) => console.error("discord edit failed", failure));
  }
}

async function commandOutcome(env: AppEnv["Bindings"], run: CommandRun, progress: (content: string) => Promise<void>): Promise<string> {
  const { subcommand, accountId, origin, notify } = run;
  const text = (name: string) => {
    const value = optionValue(subcommand, name);
    return value === undefined ? undefined : String(value);
  };
  const number = (name: string) => {
    const value = optionValue(subcommand, name);
    return typeof value === "number" ? value : undefined;
  };
  switch (subcommand.name) {
    case "train": {
      const files = attachedPhotos(run.interaction, subcommand);
      const classNoun = text("class") ?? "";
      await progress(`Checking ${files.length} photos…`);
      const { subject, training } = await trainFromChat(
        env,
        accountId,
        { name: text("name") ?? classNoun, class_noun: classNoun, files, download: (url) => fetch(url) },
        origin,
        notify,
      );
      return `Training **${subject.name}** (${subject.class_noun}) from ${subject.photos.length} photos: \`${training.id}\`. I'll post in this channel when it's done.`;
    }
    case "imagine": {
      const { subject, generation } = await imagineFromChat(
        env,
        accountId,
        { prompt: text("prompt") ?? "", subject: text("subject"), count: number("count"), seed: number("seed") },
        origin,
        notify,
      );
      const count = generation.params.num_images;
      return `Imagining ${count} image${count === 1 ? "" : "s"} of **${subject.name}**: “${text("prompt")}” (\`${generation.id}\`)…`;
    }
    case "status":
      return statusReport(env, accountId, text("job"));
    case "subjects":
      return subjectsReport(env, accountId);
    default:
      return `Unknown subcommand \`${subcommand.name}\`; try train, imagine, status or subjects.`;
  }
}
