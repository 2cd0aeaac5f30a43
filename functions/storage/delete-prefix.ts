/**
 * Deletes every R2 object under a key prefix. R2 lists at most 1000 keys a page
 * and `delete` takes up to 1000 keys, so one page is one delete call.
 */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let removed = 0;
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix, cursor, limit: 1000 });
    const keys = listing.objects.map((object) => object.key);
    if (keys.length > 0) await bucket.delete(keys);
    removed += keys.length;
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);
  return removed;
}
