import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byteToUnicodeTable, ClipTokenizer } from "./tokenizer.js";

/**
 * A small vocabulary in CLIP's layout: every byte character alone and with `</w>`, a few merged
 * symbols, and the special tokens at CLIP's ids. Merge ranks are chosen so that order matters.
 */
const MERGES = ["h e", "l l", "he ll", "hell o</w>", "o l</w>", "l o", "w o", "wo r", "wor l", "worl d</w>", "i t</w>", "' s</w>"];
function smallVocab(): Record<string, number> {
  const vocab: Record<string, number> = {};
  byteToUnicodeTable()
    .filter((character) => /[a-z!,.'0-9]/.test(character))
    .forEach((character) => {
      vocab[character] = Object.keys(vocab).length;
      vocab[`${character}</w>`] = Object.keys(vocab).length;
    });
  for (const merge of MERGES) vocab[merge.replace(" ", "")] = Object.keys(vocab).length;
  vocab["<|startoftext|>"] = 49406;
  vocab["<|endoftext|>"] = 49407;
  return vocab;
}
const VOCAB = smallVocab();
const tokenizer = new ClipTokenizer({ vocab: VOCAB, merges: MERGES, maxLength: 12 });

describe("ClipTokenizer BPE", () => {
  it("applies merges by rank until none applies, marking the end of each word", () => {
    expect(tokenizer.tokenize("hello")).toEqual(["hello</w>"]);
    expect(tokenizer.tokenize("world")).toEqual(["world</w>"]);
    // "o l</w>" outranks "l o", so "lol" becomes l + ol</w>, not lo + l</w>.
    expect(tokenizer.tokenize("lol")).toEqual(["l", "ol</w>"]);
    // "l l" does not match the word-final "l</w>": the end marker keeps "hell" from merging like "hello".
    expect(tokenizer.tokenize("hell")).toEqual(["he", "l", "l</w>"]);
  });

  it("lower-cases and collapses whitespace as CLIP's cleanup does", () => {
    expect(tokenizer.tokenize("  HeLLo \n\t WORLD ")).toEqual(["hello</w>", "world</w>"]);
  });

  it("splits punctuation runs, contractions and single digits with CLIP's pattern", () => {
    expect(tokenizer.tokenize("hello!!, it's 42.")).toEqual(["hello</w>", "!", "!", ",</w>", "it</w>", "'s</w>", "4</w>", "2</w>", ".</w>"]);
  });

  it("writes non-ASCII text as UTF-8 bytes in GPT-2's alphabet and maps unknown symbols to the unk token", () => {
    expect(tokenizer.tokenize("é")).toEqual(["Ã", "©</w>"]);
    expect(tokenizer.encodeRaw("é")).toEqual([49407, 49407]);
  });

  it("keeps the special token strings whole", () => {
    expect(tokenizer.encodeRaw("<|startoftext|>hello")).toEqual([49406, VOCAB["hello</w>"]]);
  });

  it("wraps ids in bos … eos and pads to max_length with the pad token", () => {
    const ids = Array.from(tokenizer.encode("hello world"));
    expect(ids).toEqual([49406, VOCAB["hello</w>"], VOCAB["world</w>"], 49407, ...new Array(8).fill(49407)]);
  });

  it("truncates a long prompt but keeps eos last", () => {
    const ids = tokenizer.encode("hello ".repeat(20));
    expect(ids.length).toBe(12);
    expect(ids[0]).toBe(49406);
    expect(Array.from(ids.slice(1, 11))).toEqual(new Array(10).fill(VOCAB["hello</w>"]));
    expect(ids[11]).toBe(49407);
  });
});

describe("ClipTokenizer.fromDirectory", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), "clip-tokenizer-"));
  });
  afterAll(async () => rm(folder, { recursive: true, force: true }));

  it("reads vocab.json + merges.txt and takes the pad token and max length from tokenizer_config.json", async () => {
    const dir = path.join(folder, "sd2-style");
    await mkdir(dir);
    await writeFile(path.join(dir, "vocab.json"), JSON.stringify(VOCAB));
    await writeFile(path.join(dir, "merges.txt"), `#version: 0.2\n${MERGES.join("\n")}\n`);
    await writeFile(path.join(dir, "special_tokens_map.json"), JSON.stringify({ pad_token: "<|endoftext|>" }));
    await writeFile(
      path.join(dir, "tokenizer_config.json"),
      JSON.stringify({ model_max_length: 6, pad_token: { content: "!", lstrip: false }, bos_token: "<|startoftext|>" }),
    );
    const loaded = await ClipTokenizer.fromDirectory(dir);
    expect(loaded.maxLength).toBe(6);
    expect(Array.from(loaded.encode("hello"))).toEqual([49406, VOCAB["hello</w>"], 49407, VOCAB["!"], VOCAB["!"], VOCAB["!"]]);
  });

  it("reads tokenizer.json alone with the same result", async () => {
    const dir = path.join(folder, "fast-only");
    await mkdir(dir);
    await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab: VOCAB, merges: MERGES.map((m) => m.split(" ")) } }));
    const loaded = await ClipTokenizer.fromDirectory(dir);
    expect(Array.from(loaded.encode("Hello, world!"))).toEqual(Array.from(new ClipTokenizer({ vocab: VOCAB, merges: MERGES }).encode("Hello, world!")));
    expect(loaded.maxLength).toBe(77);
  });

  it("names what is missing", async () => {
    await expect(ClipTokenizer.fromDirectory(path.join(folder, "nothing"))).rejects.toThrow(/neither vocab.json/);
    expect(() => new ClipTokenizer({ vocab: { a: 0 }, merges: [] })).toThrow(/bos token "<\|startoftext\|>"/);
  });
});
