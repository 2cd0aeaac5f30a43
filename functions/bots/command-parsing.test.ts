import { describe, expect, it } from "vitest";
import { photoNameFor, resolvePromptSubject } from "./actions";
import { parseSlackCommand } from "./slack/command-text";
import type { Subject } from "../subjects/schemas";

const subject = (name: string, status: Subject["status"] = "ready"): Subject => ({
  id: `sub_${name}`,
  name,
  class_noun: "dog",
  identifier: "sks",
  mode: "live",
  status,
  photos: [],
  created_at: 0,
  finalized_at: null,
});

describe("Slack command text", () => {
  it("parses each verb, imagine's flags, and falls back to help", () => {
    expect(parseSlackCommand("train dog Rex the Dog")).toEqual({ kind: "train", class_noun: "dog", name: "Rex the Dog" });
    expect(parseSlackCommand("train backpack")).toEqual({ kind: "train", class_noun: "backpack", name: "backpack" });
    expect(parseSlackCommand("imagine --count 3 Rex on --seed 42 the moon")).toEqual({ kind: "imagine", prompt: "Rex on the moon", count: 3, seed: 42 });
    expect(parseSlackCommand("status trn_abc")).toEqual({ kind: "status", job: "trn_abc" });
    expect(parseSlackCommand("  LINK  abcd2345 ")).toEqual({ kind: "link", code: "abcd2345" });
    expect(parseSlackCommand("")).toEqual({ kind: "help" });
    expect(parseSlackCommand("train").kind).toBe("help");
    expect(parseSlackCommand("imagine --count 9 Rex")).toMatchObject({ kind: "help", problem: "`--count` is 1 to 4." });
  });
});

describe("prompt subjects", () => {
  const subjects = [subject("Rex"), subject("Rexa"), subject("Mr. Whiskers")];

  it("replaces the subject's name (whole words, any case) with {subject}", () => {
    expect(resolvePromptSubject("REX on the beach", subjects)).toMatchObject({ subject: { name: "Rex" }, prompt: "{subject} on the beach" });
    expect(resolvePromptSubject("rexa in space", subjects)).toMatchObject({ subject: { name: "Rexa" }, prompt: "{subject} in space" });
    expect(resolvePromptSubject("mr. whiskers, oil painting", subjects).prompt).toBe("{subject}, oil painting");
  });

  it("keeps an explicit {subject}, choosing the named subject or the newest finalized one", () => {
    expect(resolvePromptSubject("{subject} at night", subjects, "rexa")).toMatchObject({ subject: { name: "Rexa" }, prompt: "{subject} at night" });
    expect(resolvePromptSubject("{subject} at night", [subject("Draft", "draft"), ...subjects]).subject.name).toBe("Rex");
  });

  it("explains what is missing instead of guessing", () => {
    expect(() => resolvePromptSubject("a castle", subjects)).toThrow(/put \{subject\} or a subject's name.*Rex, Rexa, Mr\. Whiskers/);
    expect(() => resolvePromptSubject("Rex", subjects, "Fido")).toThrow('No subject called "Fido"');
    expect(() => resolvePromptSubject("a castle", subjects, "Rex")).toThrow('Put {subject} or "Rex" in the prompt');
  });
});

it("turns chat file names into unique names the photo store accepts", () => {
  expect(photoNameFor(0, "IMG 0001 (1).JPG")).toBe("1-IMG_0001__1_.JPG");
  expect(photoNameFor(4, "..hidden")).toBe("5-..hidden");
  expect(photoNameFor(1, "日本.png")).toBe("2-__.png");
  expect(photoNameFor(9, "")).toBe("10-photo");
  const long = photoNameFor(2, `${"a".repeat(300)}.webp`);
  expect(long).toMatch(/^3-a+\.webp$/);
  expect(long.length).toBeLessThanOrEqual(121);
});
