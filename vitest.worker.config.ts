import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { startFakeChatPlatforms } from "./test/fakes/chat-platforms.js";
import { startFakeGpuBackend } from "./test/fakes/gpu-backend.js";
import { FAKE_REPLICATE_TOKEN, FAKE_WEBHOOK_SECRET, FakeReplicate } from "./test/fakes/replicate-api.js";
import { startWebhookReceiver } from "./test/fakes/webhook-receiver.js";
import { FakeQueuesApi } from "./test/fakes/queues-api.js";

const BACKEND_SIGNING_SECRET = "test-backend-signing-secret";
// A local fake of the GPU service's intake, so the container backend's signed push is tested over real HTTP.
const fakeGpuBackend = await startFakeGpuBackend(BACKEND_SIGNING_SECRET);
// A local fake of Replicate's HTTP API, which the real `replicate` client in the Worker talks to.
const fakeReplicateOrigin = await new FakeReplicate().start();
// A local stand-in for the Cloudflare Queues REST API, for queue dispatch over HTTP.
const fakeQueues = new FakeQueuesApi({ token: "test-queues-token", accountId: "acc-test", queueId: "jobs-test", maxRetries: 3 });
await fakeQueues.start();

// A customer's webhook endpoint, recording signed deliveries as they arrive.
const webhookReceiver = await startWebhookReceiver();

// Local fakes of the Discord and Slack APIs, and a Discord application key pair made for this run:
// the Worker gets the public key, the tests the private one to sign interactions as Discord does.
const DISCORD_BOT_TOKEN = "test-discord-bot-token";
const SLACK_BOT_TOKEN = "xoxb-test-slack-bot-token";
const fakeChat = await startFakeChatPlatforms({ discordBotToken: DISCORD_BOT_TOKEN, slackBotToken: SLACK_BOT_TOKEN });
const discordKeys = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
const discordPublicKey = Buffer.from(await crypto.subtle.exportKey("raw", discordKeys.publicKey)).toString("hex");
const discordPrivateKey = Buffer.from(await crypto.subtle.exportKey("pkcs8", discordKeys.privateKey)).toString("base64");

// Worker tests run inside workerd with real (local) R2 and Durable Objects.
// Secrets get fixed test values here (never real ones); storage URLs use the Worker-signed mode.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          SIGNED_URL_MODE: "worker",
          ADMIN_TOKEN: "test-admin-token",
          FILE_URL_SECRET: "test-file-url-secret",
          BACKEND_SIGNING_SECRET,
          GPU_BACKEND_URL: fakeGpuBackend.url,
          // A frozen GPU host is cut off after a second, not the deployment's ten.
          BACKEND_REQUEST_TIMEOUT_S: "1",
          // Jobs that name no backend run on the fake one, its stages 20 ms apart, so a training takes well under a second.
          DEFAULT_BACKEND: "fake",
          FAKE_BACKEND_STEP_MS: "20",
          REPLICATE_API_BASE_URL: `${fakeReplicateOrigin}/v1`,
          REPLICATE_API_TOKEN: FAKE_REPLICATE_TOKEN,
          REPLICATE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET,
          REPLICATE_DESTINATION_OWNER: "dbe-test",
          // Webhooks drive the Replicate tests; the polling tests move the poll timer forward themselves.
          REPLICATE_POLL_INTERVAL_S: "3600",
          // Webhook receivers in tests listen on 127.0.0.1.
          ALLOW_PRIVATE_WEBHOOKS: "true",
          WEBHOOK_RECEIVER_URL: webhookReceiver.url,
          DISCORD_API_BASE: `${fakeChat.url}/discord/api`,
          DISCORD_APPLICATION_ID: "test-discord-app",
          DISCORD_PUBLIC_KEY: discordPublicKey,
          DISCORD_BOT_TOKEN,
          SLACK_API_BASE: `${fakeChat.url}/slack/api`,
          SLACK_SIGNING_SECRET: "test-slack-signing-secret",
          SLACK_BOT_TOKEN,
          // Test-only: where the tests reach the fakes, and the key to sign Discord interactions with.
          TEST_QUEUES_API_ORIGIN: fakeQueues.origin,
          TEST_CHAT_FAKE_URL: fakeChat.url,
          TEST_DISCORD_PRIVATE_KEY_PKCS8: discordPrivateKey,
        },
      },
    }),
  ],
  test: { include: ["functions/**/*.test.ts"] },
});
