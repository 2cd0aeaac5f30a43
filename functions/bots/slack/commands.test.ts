import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../../index";
import { BASE, createAccount, expectError, jsonInit, type TestAccount } from "../../../test/helpers/api";
import { makePng } from "../../../test/helpers/images";
import { fireTimer, readySubject, timersOf, waitFor } from "../../../test/helpers/jobs";
import { fakeCalls, FAKE_URL, linkCode, putFakeFile, setSlackHistory, signSlack, slackPost, slashCommand, uniqueId, waitForCall } from "../../../test/helpers/chat";

const textOf = (call: { body: unknown }) => String((call.body as { text?: string; initial_comment?: string }).text ?? (call.body as { initial_comment?: string }).initial_comment ?? "");

async function linkedTeam(account: TestAccount): Promise<string> {
  const team = uniqueId("T");
  const code = await linkCode(account);
  const response = await slackPost("commands", slashCommand({ team, channel: "C1", user: "U1", text: `link ${code}`, responseKey: uniqueId("r") }));
  expect(((await response.json()) as { text: string }).text).toContain("now linked");
  return team;
}

/** Files in the channel's history as Slack lists them, served privately by the fake. */
async function sharedFile(name: string, bytes: Uint8Array, delayMs = 0) {
  const stored = await putFakeFile(`${uniqueId("F")}-${name}`, bytes, delayMs);
  return { id: uniqueId("F"), name, mimetype: name.endsWith(".png") ? "image/png" : "text/plain", size: bytes.length, url_private_download: `${FAKE_URL}/slack/files/${stored}` };
}

describe("Slack request verification", () => {
  it("answers the Events API url_verification challenge", async () => {
    const body = JSON.stringify({ token: "x", challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", type: "url_verification" });
    const response = await slackPost("events", body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" });
  });

  it("refuses missing, wrong and stale signatures with 401", async () => {
    const body = JSON.stringify({ challenge: "c", type: "url_verification" });
    await expectError(await slackPost("events", body, {}), 401, "invalid_signature");
    await expectError(await slackPost("events", body, await signSlack(body, undefined, "another-secret")), 401);
    await expectError(await slackPost("events", body, await signSlack(`${body} `)), 401);
    const sixMinutesAgo = String(Math.floor(Date.now() / 1000) - 360);
    await expectError(await slackPost("events", body, await signSlack(body, sixMinutesAgo)), 401);
    const command = slashCommand({ team: "T", channel: "C", user: "U", text: "status", responseKey: "r" });
    await expectError(await slackPost("commands", command, await signSlack(command, sixMinutesAgo)), 401);
  });

  it("answers 503 naming the secret when the signing secret is not configured", async () => {
    const context = createExecutionContext();
    const response = await app.fetch(new Request(`${BASE}/bots/slack/commands`, { method: "POST", body: "" }), { ...env, SLACK_SIGNING_SECRET: undefined }, context);
    await waitOnExecutionContext(context);
    expect((await expectError(response, 503, "missing_secret")).message).toContain("SLACK_SIGNING_SECRET");
  });
});

describe("Slack /dreambooth", () => {
  it("tells an unlinked workspace how to link, ephemerally", async () => {
    const response = await slackPost("commands", slashCommand({ team: uniqueId("T"), channel: "C", user: "U", text: "subjects", responseKey: uniqueId("r") }));
    const body = await response.json<{ response_type: string; text: string }>();
    expect(body.response_type).toBe("ephemeral");
    expect(body.text).toContain("isn't linked");
  });

  it("acks at once, trains from the photos the user shared, and posts the end with the bot token", async () => {
    const account = await createAccount();
    const team = await linkedTeam(account);
    const channel = uniqueId("C");
    const now = Math.floor(Date.now() / 1000);
    const photos = await Promise.all([10, 20, 30].map((shade) => sharedFile(`rex-${shade}.png`, makePng(512, 512, shade), 400)));
    await setSlackHistory(channel, [
      { type: "message", user: "U-bob", ts: `${now}.3`, files: [await sharedFile("not-rex.png", makePng(512, 512, 99))] },
      { type: "message", user: "U-alice", ts: `${now}.2`, files: photos.slice(1) },
      { type: "message", user: "U-alice", ts: `${now}.1`, files: photos.slice(0, 1) },
    ]);
    const responseKey = uniqueId("r");
    const started = Date.now();
    const response = await slackPost("commands", slashCommand({ team, channel, user: "U-alice", text: "train dog Rex", responseKey }));
    expect(await response.json()).toEqual({ response_type: "ephemeral", text: "Working on it…" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await fakeCalls(responseKey)).some((call) => textOf(call).includes("Training"))).toBe(false);

    const answer = await waitForCall(responseKey, (call) => textOf(call).includes("Training *Rex* (dog) from 3 photos"));
    expect((answer.body as { response_type: string }).response_type).toBe("ephemeral");
    const trainingId = /`(trn_[0-9a-z]+)`/.exec(textOf(answer))![1];
    await waitFor(account, `/v1/trainings/${trainingId}`, (job) => job.status === "succeeded");
    const done = await waitForCall(channel, (call) => call.kind === "chat.postMessage");
    expect(textOf(done)).toContain("<@U-alice> Training of *Rex* finished");
    const subjects = await (await account.request("/v1/subjects")).json<{ items: { photos: { name: string }[] }[] }>();
    expect(subjects.items[0].photos.map((photo) => photo.name)).toEqual(["1-rex-10.png", "2-rex-20.png", "3-rex-30.png"]);
  }, 20_000);

  it("answers bad photos ephemerally, naming them", async () => {
    const account = await createAccount();
    const team = await linkedTeam(account);
    const channel = uniqueId("C");
    const now = Math.floor(Date.now() / 1000);
    await setSlackHistory(channel, [
      {
        type: "message",
        user: "U1",
        ts: `${now}.1`,
        files: [await sharedFile("a.png", makePng(512, 512, 1)), await sharedFile("a-copy.png", makePng(512, 512, 1)), await sharedFile("b.png", makePng(512, 512, 2))],
      },
    ]);
    const responseKey = uniqueId("r");
    await slackPost("commands", slashCommand({ team, channel, user: "U1", text: "train dog", responseKey }));
    const answer = await waitForCall(responseKey, (call) => textOf(call).startsWith(":warning:"));
    expect((answer.body as { response_type: string }).response_type).toBe("ephemeral");
    expect(textOf(answer)).toContain("a-copy.png: Identical to 1-a.png");
  });

  it("imagines and uploads the images with files.getUploadURLExternal + completeUploadExternal", async () => {
    const account = await createAccount();
    const team = await linkedTeam(account);
    const subject = await readySubject(account);
    const created = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id }));
    await waitFor(account, `/v1/trainings/${(await created.json<{ id: string }>()).id}`, (job) => job.status === "succeeded");

    const channel = uniqueId("C");
    const responseKey = uniqueId("r");
    await slackPost("commands", slashCommand({ team, channel, user: "U1", text: "imagine --count 2 {subject} in the snow", responseKey }));
    await waitForCall(responseKey, (call) => textOf(call).includes("Imagining 2 images of *Rex*"));
    const upload = await waitForCall(channel, (call) => call.kind === "files.completeUploadExternal");
    expect(upload.files).toHaveLength(2);
    for (const file of upload.files) expect(file.head).toBe("89504e470d0a1a0a");
    expect(textOf(upload)).toContain("<@U1> 2 images of *Rex*");
  }, 20_000);

  it("names an unknown subject in a reply a person understands", async () => {
    const account = await createAccount();
    const team = await linkedTeam(account);
    const responseKey = uniqueId("r");
    await slackPost("commands", slashCommand({ team, channel: "C", user: "U1", text: "imagine Fido at the park", responseKey }));
    const answer = await waitForCall(responseKey, (call) => textOf(call).startsWith(":warning:"));
    expect(textOf(answer)).toContain("none yet — train one with /dreambooth train");
  });
});

it("retries a job-end notice Slack refused, on the job's alarm", async () => {
  const account = await createAccount();
  const team = await linkedTeam(account);
  const channel = uniqueId("C");
  const now = Math.floor(Date.now() / 1000);
  const photos = await Promise.all([1, 2, 3].map((shade) => sharedFile(`p${shade}.png`, makePng(512, 512, shade))));
  await setSlackHistory(channel, [{ type: "message", user: "U1", ts: `${now}.1`, files: photos }]);
  expect((await fetch(`${FAKE_URL}/__slack/fail-once/${channel}`, { method: "PUT" })).status).toBe(200);
  const responseKey = uniqueId("r");
  await slackPost("commands", slashCommand({ team, channel, user: "U1", text: "train dog Rex", responseKey }));
  const answer = await waitForCall(responseKey, (call) => textOf(call).includes("Training *Rex*"));
  const trainingId = /`(trn_[0-9a-z]+)`/.exec(textOf(answer))![1];
  await waitFor(account, `/v1/trainings/${trainingId}`, (job) => job.status === "succeeded");
  // The first notice failed: a retry is armed about 10 s out and nothing was posted yet.
  const started = Date.now();
  for (;;) {
    const timers = await timersOf(trainingId);
    if (timers.notify && timers.notify > Date.now() + 5000) break;
    if (Date.now() - started > 5000) throw new Error(`no notify retry armed: ${JSON.stringify(timers)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(await fakeCalls(channel)).toEqual([]);
  await fireTimer(trainingId, "notify");
  expect(textOf(await waitForCall(channel, (call) => call.kind === "chat.postMessage"))).toContain("Training of *Rex* finished");
}, 20_000);
