/** The arrays one after another in one Float32Array (a batch of HWC images or latents, ready for tf.tensor4d). */
export function concatenate(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((length, array) => length + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}
