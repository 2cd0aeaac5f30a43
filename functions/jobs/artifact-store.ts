/**
 * Writing a backend's output into R2 from inside the Worker, for backends that
 * cannot PUT to an upload slot themselves: the fake, and a Replicate backend copying
 * a prediction's output files. Same keys as upload slots (`artifactKey`), and the
 * sha256 the `artifact` event must carry is computed on the way.
 */
import { toHex } from "../../shared/index.js";
import type { ArtifactStore } from "../backends/types.js";
import { artifactKey } from "./artifact-keys.js";
import type { JobRecord } from "./record.js";

export function r2ArtifactStore(bucket: R2Bucket, record: JobRecord): ArtifactStore {
  return {
    async put(name, body, contentType) {
      const key = artifactKey(record, name);
      if (!key) throw new Error(`job ${record.id} may not write ${name}`);
      await bucket.put(key, body, { httpMetadata: { contentType } });
      return { sha256: toHex(await crypto.subtle.digest("SHA-256", body)), size: body.byteLength };
    },
  };
}
