/**
 * The text after `/dreambooth` in Slack, parsed into a command. Slack passes one
 * free-form string, so the grammar is small and said in the help text:
 * `train <class> [name]`, `imagine [--count N] [--seed N] <prompt>`, `status [job id]`,
 * `subjects`, `link <code>`.
 */
export type SlackCommand =
  | { kind: "train"; class_noun: string; name: string }
  | { kind: "imagine"; prompt: string; count?: number; seed?: number }
  | { kind: "status"; job?: string }
  | { kind: "subjects" }
  | { kind: "link"; code: string }
  | { kind: "help"; problem?: string };

export const SLACK_HELP =
  "Usage: share 3–10 photos of your subject in this channel, then `/dreambooth train <class> [name]` " +
  "(e.g. `/dreambooth train dog Rex`). Then `/dreambooth imagine Rex on the beach` " +
  "(options `--count 1-4`, `--seed N`), `/dreambooth status [job id]`, `/dreambooth subjects`, `/dreambooth link <code>`.";

export function parseSlackCommand(text: string): SlackCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb = "help", ...rest] = words;
  switch (verb.toLowerCase()) {
    case "train": {
      const [classNoun, ...name] = rest;
      if (!classNoun) return { kind: "help", problem: "Say what the subject is: `/dreambooth train dog Rex`." };
      return { kind: "train", class_noun: classNoun, name: name.join(" ") || classNoun };
    }
    case "imagine": {
      const options: { count?: number; seed?: number } = {};
      const prompt: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        const flag = /^--(count|seed)$/.exec(rest[i]);
        if (flag && /^\d+$/.test(rest[i + 1] ?? "")) options[flag[1] as "count" | "seed"] = Number(rest[++i]);
        else prompt.push(rest[i]);
      }
      if (prompt.length === 0) return { kind: "help", problem: "Say what to imagine: `/dreambooth imagine Rex on the beach`." };
      if (options.count !== undefined && (options.count < 1 || options.count > 4)) return { kind: "help", problem: "`--count` is 1 to 4." };
      return { kind: "imagine", prompt: prompt.join(" "), ...options };
    }
    case "status":
      return { kind: "status", ...(rest[0] ? { job: rest[0] } : {}) };
    case "subjects":
      return { kind: "subjects" };
    case "link":
      return rest[0] ? { kind: "link", code: rest[0] } : { kind: "help", problem: "Give the code: `/dreambooth link ABCD2345`." };
    default:
      return { kind: "help" };
  }
}
