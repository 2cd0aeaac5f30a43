/**
 * CLIP's byte-level BPE tokenizer, as transformers' CLIPTokenizer prepares prompts for Stable
 * Diffusion: NFC, whitespace collapsed, lower-cased; split by CLIP's pattern (contractions, letter
 * runs, single digits, punctuation runs); each piece's UTF-8 bytes written in GPT-2's printable byte
 * alphabet, the last symbol marked `</w>`, then merged pair by pair in `merges.txt` rank order. Ids come
 * from `vocab.json` (unknown symbols → the unk token), wrapped in bos … eos, truncated to keep eos, and
 * padded to `model_max_length` with the pad token the folder names (SD1.5: `<|endoftext|>`, SD2: `!`).
 * Hand-written (~150 lines) because no npm package here reproduces CLIP exactly and installs offline.
 */
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

/** GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to U+0100 onwards. */
export function byteToUnicodeTable(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
}

const BYTE_TO_UNICODE = byteToUnicodeTable();
const END_OF_WORD = "</w>";
/** CLIP's pre-tokenizer pattern (openai/CLIP `simple_tokenizer.py`), applied to lower-cased text. */
const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;

/** A special token in tokenizer_config.json is either a string or an AddedToken object. */
const SpecialToken = z.union([z.string(), z.object({ content: z.string() }).transform((token) => token.content)]);
const TokenizerConfigSchema = z.looseObject({
  model_max_length: z.number().int().positive().optional(),
  bos_token: SpecialToken.nullish(),
  eos_token: SpecialToken.nullish(),
  pad_token: SpecialToken.nullish(),
  unk_token: SpecialToken.nullish(),
});
const TokenizerJsonSchema = z.looseObject({
  model: z.looseObject({
    vocab: z.record(z.string(), z.number().int()),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()]).transform((pair) => pair.join(" "))])),
  }),
});

export interface ClipTokenizerFiles {
  vocab: Record<string, number>;
  /** Merge rules "a b", highest priority first (merges.txt without its `#version` line). */
  merges: string[];
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  /** Length every encoding is padded or truncated to (77 for SD). */
  maxLength?: number;
}

export class ClipTokenizer {
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly unkId: number;
  private readonly vocab: Map<string, number>;
  private readonly mergeRanks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();

  constructor(files: ClipTokenizerFiles) {
    this.vocab = new Map(Object.entries(files.vocab));
    this.mergeRanks = new Map(files.merges.map((merge, rank) => [merge, rank]));
    const idOf = (token: string, role: string) => {
      const id = this.vocab.get(token);
      if (id == null) throw new Error(`tokenizer: the ${role} token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    };
    this.bosId = idOf(files.bosToken ?? "<|startoftext|>", "bos");
    this.eosId = idOf(files.eosToken ?? "<|endoftext|>", "eos");
    this.unkId = idOf(files.unkToken ?? "<|endoftext|>", "unk");
    this.padId = idOf(files.padToken ?? files.eosToken ?? "<|endoftext|>", "pad");
    this.maxLength = files.maxLength ?? 77;
  }

  /** Reads a diffusers `tokenizer/` folder: vocab.json + merges.txt, or tokenizer.json alone. */
  static async fromDirectory(directory: string): Promise<ClipTokenizer> {
    const file = (name: string) => path.join(directory, name);
    const exists = (name: string) => access(file(name)).then(() => true, () => false);
    const readJson = async (name: string) => JSON.parse(await readFile(file(name), "utf8")) as unknown;
    let vocab: Record<string, number>;
    let merges: string[];
    if (await exists("vocab.json")) {
      vocab = z.record(z.string(), z.number().int()).parse(await readJson("vocab.json"));
      // transformers keeps lines 1 … 48894 (the header line is dropped); blank lines are not rules.
      merges = (await readFile(file("merges.txt"), "utf8")).split("\n").slice(1, 49152 - 256 - 2 + 1).filter((line) => line.trim() !== "");
    } else if (await exists("tokenizer.json")) {
      ({ vocab, merges } = TokenizerJsonSchema.parse(await readJson("tokenizer.json")).model);
    } else {
      throw new Error(`tokenizer: ${directory} has neither vocab.json + merges.txt nor tokenizer.json`);
    }
    const config = {
      ...((await exists("special_tokens_map.json")) ? TokenizerConfigSchema.parse(await readJson("special_tokens_map.json")) : {}),
      ...((await exists("tokenizer_config.json")) ? TokenizerConfigSchema.parse(await readJson("tokenizer_config.json")) : {}),
    };
    return new ClipTokenizer({
      vocab,
      merges,
      bosToken: config.bos_token ?? undefined,
      eosToken: config.eos_token ?? undefined,
      padToken: config.pad_token ?? undefined,
      unkToken: config.unk_token ?? undefined,
      // transformers writes a huge sentinel when there is no limit; the text encoder's 77 applies then.
      maxLength: config.model_max_length != null && config.model_max_length < 1e6 ? config.model_max_length : undefined,
    });
  }

  /** The BPE symbols of a text, before ids (for tests and debugging). */
  tokenize(text: string): string[] {
    const cleaned = text.normalize("NFC").replace(/\s+/gu, " ").trim().toLowerCase();
    return (cleaned.match(CLIP_PATTERN) ?? []).flatMap((piece) => (this.isSpecial(piece) ? [piece] : this.bpe(piece)));
  }

  /** Ids without bos/eos/padding. */
  encodeRaw(text: string): number[] {
    return this.tokenize(text).map((symbol) => this.vocab.get(symbol) ?? this.unkId);
  }

  /** [bos, …ids, eos, pad, …] of exactly `maxLength`; a long prompt is cut before eos, as CLIP's is. */
  encode(text: string): Int32Array {
    const ids = this.encodeRaw(text).slice(0, this.maxLength - 2);
    const out = new Int32Array(this.maxLength).fill(this.padId);
    out.set([this.bosId, ...ids, this.eosId]);
    return out;
  }

  private isSpecial(piece: string): boolean {
    return (piece === "<|startoftext|>" || piece === "<|endoftext|>") && this.vocab.has(piece);
  }

  private bpe(piece: string): string[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    const characters = Array.from(new TextEncoder().encode(piece), (byte) => BYTE_TO_UNICODE[byte]);
    let symbols = [...characters.slice(0, -1), characters[characters.length - 1] + END_OF_WORD];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank != null && rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) break;
      const [left, right] = [symbols[best], symbols[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    this.cache.set(piece, symbols);
    return symbols;
  }
}
