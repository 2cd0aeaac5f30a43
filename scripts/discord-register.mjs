#!/usr/bin/env node
/**
 * Registers the `/dreambooth` slash command group with Discord, from the one
 * definition the Worker parses (functions/bots/discord/commands.json). A PUT
 * replaces the application's whole command list, so running it again is safe.
 *
 *   DISCORD_APPLICATION_ID=… DISCORD_BOT_TOKEN=… node scripts/discord-register.mjs [--guild <guild id>]
 *
 * With --guild the commands are guild commands (available at once, for testing);
 * without, global commands (may take up to an hour to appear everywhere).
 * DISCORD_API_BASE overrides https://discord.com/api/v10.
 */
import { readFile } from "node:fs/promises";

const applicationId = process.env.DISCORD_APPLICATION_ID;
const botToken = process.env.DISCORD_BOT_TOKEN;
if (!applicationId || !botToken) {
  console.error("Set DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN (Developer Portal → your app → General Information / Bot).");
  process.exit(2);
}
const guildIndex = process.argv.indexOf("--guild");
const guildId = guildIndex > 0 ? process.argv[guildIndex + 1] : undefined;
if (guildIndex > 0 && !guildId) {
  console.error("--guild needs a guild id");
  process.exit(2);
}

const apiBase = process.env.DISCORD_API_BASE ?? "https://discord.com/api/v10";
const commands = JSON.parse(await readFile(new URL("../functions/bots/discord/commands.json", import.meta.url), "utf8"));
const path = guildId ? `/applications/${applicationId}/guilds/${guildId}/commands` : `/applications/${applicationId}/commands`;
const response = await fetch(`${apiBase}${path}`, {
  method: "PUT",
  headers: { authorization: `Bot ${botToken}`, "content-type": "application/json" },
  body: JSON.stringify(commands),
});
const body = await response.text();
if (!response.ok) {
  console.error(`Discord answered ${response.status}: ${body}`);
  process.exit(1);
}
const registered = JSON.parse(body);
console.log(`Registered ${registered.map((command) => `/${command.name}`).join(", ")} ${guildId ? `in guild ${guildId}` : "globally"}.`);
