/**
 * A CLIP-format BPE vocabulary learned from our own captions. The real CLIP vocabulary (49 408 tokens)
 * would make the token table the largest tensor of a 3 MB model; learning merges from the caption
 * corpus gives a few hundred tokens in exactly CLIP's files (`vocab.json`: the 256 byte symbols, the
 * same with `</w>`, one token per merge, then the two special tokens; `merges.txt`: a version line and
 * one "left right" pair per line, in rank order), so any CLIP tokenizer reads it. Every byte stays in
 * the vocabulary: words the corpus never had (an identifier like "sks") split into rarer pieces,
 * which is what DreamBooth wants from its identifier.
 */
import { byteToUnicodeTable } from "../model/tokenizer.js";

/** The byte symbols in CLIP's vocabulary order (printable ranges first, then the remapped bytes). */
function baseSymbols(): string[] {
  const table = byteToUnicodeTable();
  const order: number[] = [];
  for (let b = 33; b <= 126; b++) order.push(b);
  for (let b = 161; b <= 172; b++) order.push(b);
  for (let b = 174; b <= 255; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order.map((b) => table[b]);
}

/** The words of a caption as CLIP splits them (lowercased letter runs, digits, punctuation runs). */
export function captionWords(text: string): string[] {
  return text.toLowerCase().match(/\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu) ?? [];
}

function symbolsOf(word: string): string[] {
  const table = byteToUnicodeTable();
  const symbols = [...new TextEncoder().encode(word)].map((b) => table[b]);
  symbols[symbols.length - 1] += "</w>";
  return symbols;
}

/**
 * Learns merges until every corpus word is one token: repeatedly merge the most frequent adjacent
 * pair (ties broken by the pair's text, so the result depends only on the corpus).
 */
export function learnMerges(corpus: string[]): [string, string][] {
  const frequency = new Map<string, number>();
  for (const text of corpus) for (const word of captionWords(text)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
  const words = [...frequency].map(([word, count]) => ({ symbols: symbolsOf(word), count }));
  const merges: [string, string][] = [];
  for (;;) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    if (pairs.size === 0) return merges;
    const [best] = [...pairs].sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0))[0];
    const [left, right] = best.split(" ") as [string, string];
    merges.push([left, right]);
    for (const word of words) {
      const merged: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (i + 1 < word.symbols.length && word.symbols[i] === left && word.symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else merged.push(word.symbols[i]);
      }
      word.symbols = merged;
    }
  }
}

export interface ClipVocabularyFiles {
  vocab: Record<string, number>;
  /** The text of merges.txt. */
  merges: string;
}

/** vocab.json and merges.txt for the merges, in CLIP's layout; the special tokens get the last two ids. */
export function clipVocabularyFiles(merges: [string, string][]): ClipVocabularyFiles {
  const base = baseSymbols();
  const tokens = [...base, ...base.map((symbol) => `${symbol}</w>`), ...merges.map(([left, right]) => left + right)];
  tokens.push("<|startoftext|>", "<|endoftext|>");
  // Two merge paths can spell the same token ("ab c", "a bc"); it keeps its first id, ids stay dense.
  const vocab: Record<string, number> = {};
  let next = 0;
  for (const token of tokens) if (!(token in vocab)) vocab[token] = next++;
  const mergeLines = merges.map(([left, right]) => `${left} ${right}`);
  return { vocab, merges: ["#version: 0.2", ...mergeLines].join("\n") + "\n" };
}
