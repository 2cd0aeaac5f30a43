import { describe, expect, it } from "vitest";
import { trainingPrompts } from "./prompts.js";

const input = (name: string, caption?: string) => ({ name, ...(caption ? { caption } : {}) });

describe("trainingPrompts", () => {
  it("captions every photo with the instance prompt and class images with the class prompt", () => {
    const prompts = trainingPrompts({
      subject: { identifier: "sks", class_noun: "dog" },
      inputs: [input("a.jpg"), input("b.jpg")],
      params: { instance_prompt: "a photo of sks dog", prior_preservation: { class_prompt: "a photo of dog" } },
    });
    expect(prompts).toEqual({ instance: ["a photo of sks dog", "a photo of sks dog"], class: "a photo of dog" });
  });

  it("uses a photo's own caption, expanding {subject}", () => {
    const prompts = trainingPrompts({
      subject: { identifier: "sks", class_noun: "dog" },
      inputs: [input("a.jpg", "{subject} asleep on a sofa"), input("b.jpg")],
      params: { instance_prompt: "a photo of sks dog", prior_preservation: { class_prompt: "a photo of dog" } },
    });
    expect(prompts.instance).toEqual(["sks dog asleep on a sofa", "a photo of sks dog"]);
  });
});
