/**
 * Seeded randomness computed in JavaScript, so a seed means the same noise on wasm, cpu and a GPU:
 * tfjs' own `randomNormal` is backend-specific (libtensorflow draws differently from the JS
 * backends). The generator is xoshiro128** (Blackman & Vigna; 32-bit arithmetic, which JavaScript
 * does exactly and fast), seeded through splitmix32; normals come from the Box–Muller transform. Its
 * whole state is four 32-bit words, which the trainer checkpoints to resume a run bit for bit.
 */
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";

export const RandomStateSchema = z.object({
  algorithm: z.literal("xoshiro128**"),
  words: z.array(z.number().int().min(0).max(2 ** 32 - 1)).length(4),
});
export type RandomState = z.infer<typeof RandomStateSchema>;

const TWO_POW_32 = 2 ** 32;

/** splitmix32: spreads a seed's bits so that nearby seeds start far apart. */
function splitmix32(state: number): [next: number, output: number] {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [next, (z ^ (z >>> 16)) >>> 0];
}

export class Random {
  private readonly words: Uint32Array;

  /** A generator from an integer seed (0 ≤ seed < 2^53), or resumed from a saved `state()`. */
  constructor(seedOrState: number | RandomState) {
    this.words = new Uint32Array(4);
    if (typeof seedOrState === "number") {
      if (!Number.isSafeInteger(seedOrState) || seedOrState < 0) throw new Error(`seed must be a non-negative safe integer, got ${seedOrState}`);
      let mix = (seedOrState >>> 0) ^ splitmix32(Math.floor(seedOrState / TWO_POW_32) >>> 0)[1];
      for (let i = 0; i < 4; i++) [mix, this.words[i]] = splitmix32(mix);
      if (this.words.every((word) => word === 0)) this.words[0] = 1;
    } else {
      this.words.set(RandomStateSchema.parse(seedOrState).words);
    }
  }

  /** Everything needed to continue exactly where this generator is. */
  state(): RandomState {
    return { algorithm: "xoshiro128**", words: Array.from(this.words) };
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.words;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, maxExclusive), without modulo bias (e.g. a training timestep). */
  integer(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > TWO_POW_32) throw new Error(`bad range ${maxExclusive}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    for (;;) {
      const draw = this.nextUint32();
      if (draw < limit) return draw % maxExclusive;
    }
  }

  uniformArray(length: number): Float32Array {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = this.uniform();
    return out;
  }

  /** Standard normals, drawn in Box–Muller pairs; an odd length drops the last pair's second value. */
  normalArray(length: number): Float32Array {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i += 2) {
      const radius = Math.sqrt(-2 * Math.log((this.nextUint32() + 1) / TWO_POW_32));
      const angle = (2 * Math.PI * this.nextUint32()) / TWO_POW_32;
      out[i] = radius * Math.cos(angle);
      if (i + 1 < length) out[i + 1] = radius * Math.sin(angle);
    }
    return out;
  }

  /** A float32 tensor of standard normals (e.g. initial latents or training noise). */
  normal<R extends tf.Rank>(shape: tf.ShapeMap[R]): tf.Tensor<R> {
    return tf.tensor(this.normalArray(shape.reduce((a, b) => a * b, 1)), shape, "float32") as tf.Tensor<R>;
  }
}

function rotl(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}
