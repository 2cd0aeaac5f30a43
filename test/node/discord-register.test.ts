import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

const run = promisify(execFile);
const script = new URL("../../scripts/discord-register.mjs", import.meta.url).pathname;

/** A fake of Discord's bulk-overwrite endpoints: records each PUT and echoes the commands with ids, as Discord does. */
const received: { method: string; url: string; authorization?: string; body: unknown }[] = [];
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
    received.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization, body });
    const ok = request.method === "PUT" && /^\/applications\/app-1(\/guilds\/[^/]+)?\/commands$/.test(request.url!);
    response.writeHead(ok ? 200 : 404, { "content-type": "application/json" });
    response.end(JSON.stringify(ok ? (body as { name: string }[]).map((command, index) => ({ id: String(index), ...command })) : { message: "404: Not Found" }));
  });
});
let apiBase = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiBase = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const env = () => ({ ...process.env, DISCORD_APPLICATION_ID: "app-1", DISCORD_BOT_TOKEN: "bot-token", DISCORD_API_BASE: apiBase });

it("PUTs the command definition the Worker parses, as guild commands with --guild", async () => {
  const { stdout } = await run("node", [script, "--guild", "guild-9"], { env: env() });
  expect(stdout).toContain("Registered /dreambooth in guild guild-9");
  const call = received.at(-1)!;
  expect(call).toMatchObject({ method: "PUT", url: "/applications/app-1/guilds/guild-9/commands", authorization: "Bot bot-token" });
  const definition = JSON.parse(await readFile(new URL("../../functions/bots/discord/commands.json", import.meta.url), "utf8"));
  expect(call.body).toEqual(definition);
  const subcommands = (definition[0].options as { name: string }[]).map((option) => option.name);
  expect(subcommands).toEqual(["train", "imagine", "status", "subjects", "link"]);
});

it("registers globally without --guild, and refuses to run without credentials", async () => {
  await run("node", [script], { env: env() });
  expect(received.at(-1)!.url).toBe("/applications/app-1/commands");
  const failure = await run("node", [script], { env: { ...env(), DISCORD_BOT_TOKEN: "" } }).catch((error: { code: number; stderr: string }) => error);
  expect(failure).toMatchObject({ code: 2 });
  expect((failure as { stderr: string }).stderr).toContain("DISCORD_BOT_TOKEN");
});
