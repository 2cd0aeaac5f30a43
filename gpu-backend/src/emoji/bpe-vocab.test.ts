import { describe, expect, it } from "vitest";
import { ClipTokenizer } from "../model/tokenizer.js";
import { captionWords, clipVocabularyFiles, learnMerges } from "./bpe-vocab.js";

describe("caption BPE vocabulary", () => {
  it("learns merges by pair frequency until each corpus word is one token", () => {
    // "a" is one symbol already; "do"+"g</w>", "d"+"o" …: the most frequent pair first, ties by text.
    const merges = learnMerges(["a dog", "a dot", "a dog"]);
    expect(merges[0]).toEqual(["d", "o"]);
    expect(merges).toContainEqual(["do", "g</w>"]);
    expect(merges).toContainEqual(["do", "t</w>"]);
    expect(merges).toHaveLength(3);
  });

  it("writes CLIP's files: 512 byte symbols, merges, then the two special tokens, dense ids", () => {
    const files = clipVocabularyFiles(learnMerges(["a dog on a blue background"]));
    const ids = Object.values(files.vocab).sort((a, b) => a - b);
    expect(ids).toEqual(ids.map((_, i) => i));
    expect(files.vocab["!"]).toBe(0);
    expect(files.vocab["<|endoftext|>"]).toBe(ids.length - 1);
    expect(files.vocab["<|startoftext|>"]).toBe(ids.length - 2);
    expect(files.merges.split("\n")[0]).toBe("#version: 0.2");
  });

  it("the model core's ClipTokenizer reads the files and gives one token per corpus word", () => {
    const corpus = ["a photo of a dog on a blue background", "a small cat", "a big pineapple on a pink background"];
    const files = clipVocabularyFiles(learnMerges(corpus));
    const tokenizer = new ClipTokenizer({ vocab: files.vocab, merges: files.merges.split("\n").slice(1).filter(Boolean), maxLength: 16 });
    for (const caption of corpus) {
      const ids = tokenizer.encode(caption);
      expect(Array.from(ids.slice(1, 1 + captionWords(caption).length))).toEqual(captionWords(caption).map((word) => files.vocab[`${word}</w>`]));
    }
    // An identifier the corpus never had splits into several byte-level pieces (a rare token sequence).
    expect(tokenizer.encode("sks").filter((id) => id !== tokenizer.eosId && id !== tokenizer.bosId).length).toBeGreaterThan(1);
  });
});
