/**
 * The news a chat hears when a job it started ends, as facts (`JobNews`, composed
 * by the job's notice sink, `jobs/notices.ts`) and as words: each platform's
 * notifier writes `newsText` with its own way of spelling the imagine command.
 */
import type { OutgoingFile } from "./discord/api.js";

export interface JobNews {
  kind: "train" | "generate";
  id: string;
  status: string;
  succeeded: boolean;
  subjectName: string;
  /** The job's error message when it failed. */
  error?: string;
  /** A generation's seed. */
  seed?: number;
  /** A succeeded generation's images. */
  files: OutgoingFile[];
}

/** Pure: the words for a job that ended. `imagineHint` is the platform's way to write the imagine command. */
export function newsText(news: JobNews, imagineHint: (example: string) => string): string {
  const name = news.subjectName;
  const error = news.error ? `: ${news.error}` : "";
  if (news.kind === "train") {
    if (news.succeeded) return `Training of **${name}** finished. Try ${imagineHint(`${name} on the beach`)}`;
    return `Training of **${name}** ${news.status}${error}.`;
  }
  if (news.succeeded) {
    const count = news.files.length;
    return `${count} image${count === 1 ? "" : "s"} of **${name}** (seed ${news.seed}, \`${news.id}\`)`;
  }
  return `Generation \`${news.id}\` of **${name}** ${news.status}${error}.`;
}
