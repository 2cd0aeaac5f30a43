/**
 * The news a chat hears when a job it started ends, delivered by the job's Durable
 * Object (timer `notify`, retried like webhooks): a training's outcome, or the
 * generated images as files. Composed here once, then posted the way each platform
 * requires — by then the interaction token or `response_url` may have expired, so
 * Discord gets a bot-token channel message and Slack the bot's own upload.
 */
import { accountStore } from "../accounts/account-do.js";
import { jobStore } from "../jobs/job-do.js";
import type { JobRecord } from "../jobs/record.js";
import { generatedImages } from "../jobs/views.js";
import type { Secrets } from "../secrets.js";
import type { OutgoingFile } from "./discord/api.js";
import { notifyDiscord } from "./discord/notify.js";
import { notifySlack } from "./slack/notify.js";

export interface JobNews {
  kind: JobRecord["kind"];
  succeeded: boolean;
  /** What to say, without the mention of the person who asked (each platform adds its own). */
  text: string;
  files: OutgoingFile[];
}

async function subjectName(env: Env, record: JobRecord): Promise<string> {
  const training = record.kind === "train" ? record : record.training_id ? await jobStore(env, record.training_id).get() : null;
  const subject = training?.kind === "train" ? await accountStore(env, record.account_id).getSubject(training.subject.id) : null;
  return subject?.name ?? "your subject";
}

/** Pure: the words for a job that ended. `imagineHint` is the platform's way to write the imagine command. */
export function newsText(record: JobRecord, name: string, imagineHint: (example: string) => string, imageCount: number): string {
  if (record.kind === "train") {
    if (record.status === "succeeded") return `Training of **${name}** finished. Try ${imagineHint(`${name} on the beach`)}`;
    return `Training of **${name}** ${record.status}${record.error ? `: ${record.error.message}` : ""}.`;
  }
  if (record.status === "succeeded") {
    return `${imageCount} image${imageCount === 1 ? "" : "s"} of **${name}** (seed ${record.params.seed}, \`${record.id}\`)`;
  }
  return `Generation \`${record.id}\` of **${name}** ${record.status}${record.error ? `: ${record.error.message}` : ""}.`;
}

async function imageFiles(env: Env, record: JobRecord): Promise<OutgoingFile[]> {
  if (record.kind !== "generate" || record.status !== "succeeded") return [];
  const files: OutgoingFile[] = [];
  for (const [index, image] of generatedImages(record).entries()) {
    const object = await env.BUCKET.get(image.key);
    if (!object) throw new Error(`image ${image.key} is missing from storage`);
    const extension = image.name.split(".").pop() ?? "png";
    files.push({ filename: `${record.id}-${index}.${extension}`, bytes: new Uint8Array(await object.arrayBuffer()), contentType: image.content_type });
  }
  return files;
}

/** Throws when the platform refused or could not be reached, so the job's timer retries. */
export async function notifyChat(env: Env & Secrets, record: JobRecord): Promise<void> {
  const target = record.notify;
  if (!target) return;
  const name = await subjectName(env, record);
  const files = await imageFiles(env, record);
  const news = (hint: (example: string) => string): JobNews => ({
    kind: record.kind,
    succeeded: record.status === "succeeded",
    text: newsText(record, name, hint, files.length),
    files,
  });
  if (target.platform === "discord") await notifyDiscord(env, target, news((example) => `\`/dreambooth imagine prompt: ${example}\``));
  else await notifySlack(env, target, news((example) => `\`/dreambooth imagine ${example}\``));
}
