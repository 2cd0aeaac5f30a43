import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { notifyDiscord } from "./notify";
import app from "../../index";
import { BASE, createAccount, expectError, jsonInit } from "../../../test/helpers/api";
import { makePng } from "../../../test/helpers/images";
import { readySubject, waitFor } from "../../../test/helpers/jobs";
import {
  command,
  contentOf,
  discordPost,
  fakeCalls,
  FAKE_URL,
  linkCode,
  linkGuild,
  putFakeFile,
  signDiscord,
  uniqueId,
  waitForCall,
} from "../../../test/helpers/chat";

const PNG_MAGIC = "89504e470d0a1a0a";

/** Attachments as Discord resolves them, served by the fake CDN. */
async function attach(files: { name: string; bytes: Uint8Array; delayMs?: number }[]) {
  const options: { name: string; type: number; value: string }[] = [];
  const attachments: Record<string, unknown> = {};
  for (const [index, file] of files.entries()) {
    const id = uniqueId("att");
    const stored = await putFakeFile(`${id}-${file.name}`, file.bytes, file.delayMs);
    options.push({ name: `photo${index + 1}`, type: 11, value: id });
    attachments[id] = { id, filename: file.name, size: file.bytes.length, url: `${FAKE_URL}/discord/cdn/${stored}`, content_type: "image/png" };
  }
  return { options, attachments };
}

describe("Discord request verification", () => {
  it("answers a signed PING with PONG", async () => {
    const response = await discordPost({ type: 1, id: "1", application_id: "test-discord-app", token: "t" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ type: 1 });
  });

  it("refuses missing, wrong, tampered and stale signatures with 401", async () => {
    const ping = { type: 1 };
    await expectError(await discordPost(ping, {}), 401, "invalid_signature");
    const otherKey = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    await expectError(await discordPost(ping, await signDiscord(JSON.stringify(ping), undefined, otherKey.privateKey)), 401);
    await expectError(await discordPost(ping, await signDiscord(JSON.stringify({ type: 2 }))), 401);
    const tenMinutesAgo = String(Math.floor(Date.now() / 1000) - 600);
    await expectError(await discordPost(ping, await signDiscord(JSON.stringify(ping), tenMinutesAgo)), 401);
  });

  it("answers 503 naming the secret when the public key is not configured", async () => {
    const context = createExecutionContext();
    const response = await app.fetch(
      new Request(`${BASE}/bots/discord/interactions`, { method: "POST", body: "{}" }),
      { ...env, DISCORD_PUBLIC_KEY: undefined },
      context,
    );
    await waitOnExecutionContext(context);
    const error = await expectError(response, 503, "missing_secret");
    expect(error.message).toContain("DISCORD_PUBLIC_KEY");
  });
});

describe("Discord linking", () => {
  it("tells an unlinked server how to link instead of acting for any account", async () => {
    const response = await discordPost(command(uniqueId("g"), "subjects"));
    const body = await response.json<{ type: number; data: { content: string; flags: number } }>();
    expect(body.type).toBe(4);
    expect(body.data.flags).toBe(64);
    expect(body.data.content).toContain("isn't linked");
    expect(body.data.content).toContain("/v1/bot-links");
  });

  it("links with a one-time code, only for members who can manage the server", async () => {
    const account = await createAccount();
    const guild = uniqueId("g");
    const code = await linkCode(account);
    const link = (permissions: string, target = guild) =>
      discordPost(command(target, "link", [{ name: "code", type: 3, value: code.toLowerCase() }], { permissions })).then((response) =>
        response.json<{ data: { content: string } }>(),
      );
    expect((await link("0")).data.content).toContain("Manage Server");
    expect((await link("32")).data.content).toContain("now linked");
    // The code is spent: another server cannot reuse it.
    expect((await link("32", uniqueId("g"))).data.content).toContain("unknown, already used or expired");

    // Administrator alone is enough too.
    const adminCode = await linkCode(account);
    const byAdmin = await discordPost(command(uniqueId("g"), "link", [{ name: "code", type: 3, value: adminCode }], { permissions: "8" }));
    expect((await byAdmin.json<{ data: { content: string } }>()).data.content).toContain("now linked");

    // The linked server now acts for this account: it sees this account's subjects.
    await readySubject(account);
    const token = uniqueId("tok");
    const subjects = await discordPost(command(guild, "subjects", [], { token }));
    expect(await subjects.json()).toEqual({ type: 5, data: { flags: 64 } });
    expect(contentOf(await waitForCall(token, (call) => call.kind === "edit_original"))).toBe("• Rex (dog, ready)");
  });
});

describe("Discord /dreambooth train and imagine", () => {
  it("defers within the 3 s window, trains from the attachments, and announces the end with the bot token", async () => {
    const account = await createAccount();
    const guild = uniqueId("g");
    const channel = uniqueId("c");
    await linkGuild(account, guild);
    // The CDN is slow: the handler must answer long before the downloads finish.
    const { options, attachments } = await attach(
      [10, 20, 30, 40].map((shade) => ({ name: `rex ${shade}.png`, bytes: makePng(512, 512, shade), delayMs: 400 })),
    );
    const token = uniqueId("tok");
    const started = Date.now();
    const response = await discordPost(
      command(guild, "train", [{ name: "class", type: 3, value: "dog" }, { name: "name", type: 3, value: "Rex" }, ...options], {
        token,
        attachments,
        channelId: channel,
      }),
    );
    expect(await response.json()).toEqual({ type: 5, data: { flags: 64 } });
    const answeredAfterMs = Date.now() - started;
    expect(answeredAfterMs).toBeLessThan(1000);
    expect((await fakeCalls(token)).some((call) => contentOf(call).includes("Training"))).toBe(false);

    const started_ = await waitForCall(token, (call) => contentOf(call).includes("Training **Rex** (dog) from 4 photos"));
    const trainingId = /`(trn_[0-9a-z]+)`/.exec(contentOf(started_))![1];
    const training = await waitFor(account, `/v1/trainings/${trainingId}`, (job) => job.status === "succeeded");
    expect(training.status).toBe("succeeded");

    const done = await waitForCall(channel, (call) => call.kind === "channel_message");
    expect(contentOf(done)).toContain("<@u-alice> Training of **Rex** finished");
    const subjects = await (await account.request("/v1/subjects")).json<{ items: { name: string; photos: { name: string }[] }[] }>();
    expect(subjects.items[0].name).toBe("Rex");
    expect(subjects.items[0].photos.map((photo) => photo.name)).toEqual(["1-rex_10.png", "2-rex_20.png", "3-rex_30.png", "4-rex_40.png"]);
  }, 20_000);

  it("names each bad attachment and creates no subject", async () => {
    const account = await createAccount();
    const guild = uniqueId("g");
    await linkGuild(account, guild);
    const { options, attachments } = await attach([
      { name: "good-1.png", bytes: makePng(512, 512, 10) },
      { name: "notes.txt", bytes: new TextEncoder().encode("not a photo at all") },
      { name: "tiny.png", bytes: makePng(64, 64, 30) },
    ]);
    const token = uniqueId("tok");
    await discordPost(command(guild, "train", [{ name: "class", type: 3, value: "dog" }, ...options], { token, attachments }));
    const answer = await waitForCall(token, (call) => contentOf(call).startsWith("⚠️"));
    expect(contentOf(answer)).toContain("notes.txt: Not a JPEG, PNG or WebP file");
    expect(contentOf(answer)).toContain("tiny.png: Shortest side 64 px");
    expect(contentOf(answer)).not.toContain("good-1.png");
    const subjects = await (await account.request("/v1/subjects")).json<{ items: unknown[] }>();
    expect(subjects.items).toEqual([]);
  });

  it("imagines a trained subject named in the prompt and posts the images as files", async () => {
    const account = await createAccount();
    const guild = uniqueId("g");
    await linkGuild(account, guild);
    const subject = await readySubject(account);
    const created = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id }));
    const { id } = await created.json<{ id: string }>();
    await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "succeeded");

    const token = uniqueId("tok");
    const response = await discordPost(
      command(guild, "imagine", [{ name: "prompt", type: 3, value: "rex on the beach" }, { name: "count", type: 4, value: 2 }], { token }),
    );
    expect(await response.json()).toEqual({ type: 5, data: { flags: 64 } });
    expect(contentOf(await waitForCall(token, (call) => call.kind === "edit_original"))).toContain("Imagining 2 images of **Rex**");
    const withFiles = await waitForCall(token, (call) => call.files.length > 0);
    expect(withFiles.kind).toBe("followup");
    expect(withFiles.files.map((file) => file.field)).toEqual(["files[0]", "files[1]"]);
    for (const file of withFiles.files) {
      expect(file.head).toBe(PNG_MAGIC);
      expect(file.content_type).toBe("image/png");
    }
    expect(contentOf(withFiles)).toContain("<@u-alice> 2 images of **Rex**");
    const generationId = /`(gen_[0-9a-z]+)`/.exec(contentOf(withFiles))![1];
    const generation = await (await account.request(`/v1/generations/${generationId}`)).json<{ params: { prompt: string } }>();
    expect(generation.params.prompt).toBe(`${subject.identifier} dog on the beach`);
  }, 20_000);

  it("says plainly when the prompt names no subject", async () => {
    const account = await createAccount();
    const guild = uniqueId("g");
    await linkGuild(account, guild);
    await readySubject(account);
    const token = uniqueId("tok");
    await discordPost(command(guild, "imagine", [{ name: "prompt", type: 3, value: "a castle at dusk" }], { token }));
    const answer = await waitForCall(token, (call) => contentOf(call).startsWith("⚠️"));
    expect(contentOf(answer)).toContain("put {subject} or a subject's name in the prompt");
    expect(contentOf(answer)).toContain("Rex");
  });
});

it("posts images with the bot token once the interaction token has expired", async () => {
  const channel = uniqueId("c");
  const token = uniqueId("tok");
  const png = new Uint8Array(makePng(64, 64, 5));
  const target = { platform: "discord" as const, channel_id: channel, interaction_token: token, interaction_at: Date.now() - 20 * 60 * 1000, user_id: "u-bob" };
  await notifyDiscord(env, target, {
    kind: "generate",
    id: "gen_x",
    status: "succeeded",
    succeeded: true,
    subjectName: "Rex",
    seed: 7,
    files: [{ filename: "gen-0.png", bytes: png, contentType: "image/png" }],
  });
  const posted = await waitForCall(channel, (call) => call.kind === "channel_message");
  expect(contentOf(posted)).toBe("<@u-bob> 1 image of **Rex** (seed 7, `gen_x`)");
  expect(posted.files).toEqual([expect.objectContaining({ field: "files[0]", filename: "gen-0.png", size: png.length, head: PNG_MAGIC })]);
  expect(await fakeCalls(token)).toEqual([]);
});
