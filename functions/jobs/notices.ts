/**
 * The one sink for "this job ended" beyond the API: the news a chat bot asked
 * for when it started the job (`record.notify`). The JobDO calls `deliverJobEndNotice`
 * on its `notify` timer and retries on a throw, like a webhook. Everything the news
 * says comes from the record and its target (which carries the subject's name), so
 * delivering it reads nothing but the generated images; the platforms' notifiers
 * only post.
 */
import { notifyDiscord } from "../bots/discord/notify.js";
import type { OutgoingFile } from "../bots/discord/api.js";
import type { JobNews } from "../bots/news.js";
import { notifySlack } from "../bots/slack/notify.js";
import type { Secrets } from "../secrets.js";
import type { JobRecord } from "./record.js";
import { generatedImages } from "./views.js";

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

/** Pure: the facts of a job's end as the chat hears them. */
export function jobNews(record: JobRecord, subjectName: string, files: OutgoingFile[]): JobNews {
  return {
    kind: record.kind,
    id: record.id,
    status: record.status,
    succeeded: record.status === "succeeded",
    subjectName,
    ...(record.error ? { error: record.error.message } : {}),
    ...(record.kind === "generate" ? { seed: record.params.seed } : {}),
    files,
  };
}

/** Throws when the platform refused or could not be reached, so the job's timer retries. */
export async function deliverJobEndNotice(env: Env & Secrets, record: JobRecord): Promise<void> {
  const target = record.notify;
  if (!target) return;
  const news = jobNews(record, target.subject_name ?? "your subject", await imageFiles(env, record));
  if (target.platform === "discord") await notifyDiscord(env, target, news);
  else await notifySlack(env, target, news);
}
