import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountStore } from "./account-do";
import { newId } from "../../shared/index";

describe("AccountDO job index", () => {
  it("records jobs idempotently, keeps their status current, and scopes lookups to the account", async () => {
    const account = accountStore(env, newId("account"));
    const other = accountStore(env, newId("account"));
    await account.recordTraining({ id: "trn_a", subject_id: "sub_1", mode: "live", status: "queued", created_at: 1 });
    await account.recordTraining({ id: "trn_a", subject_id: "sub_1", mode: "live", status: "queued", created_at: 1 });
    await account.updateJobStatus("trn_a", "training", 1);
    expect(await account.getTraining("trn_a")).toEqual({ id: "trn_a", mode: "live", subject_id: "sub_1", status: "training", created_at: 1 });
    expect(await account.getGeneration("trn_a")).toBeNull();
    expect(await other.getTraining("trn_a")).toBeNull();
    expect((await account.listTrainings({ mode: "live", limit: 10 })).items).toHaveLength(1);
  });

  it("keeps the newest status whatever order the job's updates arrive in", async () => {
    const account = accountStore(env, newId("account"));
    await account.recordTraining({ id: "trn_b", subject_id: "sub_1", mode: "live", status: "queued", created_at: 1 });
    await account.updateJobStatus("trn_b", "succeeded", 3);
    await account.updateJobStatus("trn_b", "training", 2);
    await account.updateJobStatus("trn_b", "training", 3);
    expect((await account.getTraining("trn_b"))?.status).toBe("succeeded");
    expect((await account.listTrainings({ mode: "live", limit: 10, status: "training" })).items).toEqual([]);
    await account.updateJobStatus("trn_b", "canceled", 4);
    expect((await account.getTraining("trn_b"))?.status).toBe("canceled");
  });

  it("keeps a status change that arrives before the job is recorded, and a repeated record does not undo it", async () => {
    const account = accountStore(env, newId("account"));
    await account.updateJobStatus("trn_c", "dispatched", 1);
    await account.updateJobStatus("trn_c", "queued", 0);
    expect(await account.getTraining("trn_c")).toBeNull();
    await account.recordTraining({ id: "trn_c", subject_id: "sub_1", mode: "live", status: "queued", created_at: 1 });
    expect((await account.getTraining("trn_c"))?.status).toBe("dispatched");
    await account.recordTraining({ id: "trn_c", subject_id: "sub_1", mode: "live", status: "queued", created_at: 1 });
    expect((await account.getTraining("trn_c"))?.status).toBe("dispatched");
    expect((await account.listTrainings({ mode: "live", limit: 10, status: "dispatched" })).items.map((item) => item.id)).toEqual(["trn_c"]);
  });

  it("lists trainings per subject and generations per training, newest first, page by page", async () => {
    const account = accountStore(env, newId("account"));
    for (let i = 0; i < 5; i++) {
      await account.recordTraining({ id: `trn_${i}`, subject_id: i % 2 ? "sub_odd" : "sub_even", mode: "live", status: "queued", created_at: i });
      await account.recordGeneration({ id: `gen_${i}`, training_id: "trn_0", mode: "live", status: "succeeded", created_at: i });
    }
    const even = await account.listTrainings({ mode: "live", limit: 2, subject_id: "sub_even" });
    expect(even.items.map((item) => item.id)).toEqual(["trn_4", "trn_2"]);
    const rest = await account.listTrainings({ mode: "live", limit: 2, subject_id: "sub_even", cursor: even.next_cursor! });
    expect(rest).toEqual({ items: [expect.objectContaining({ id: "trn_0" })], next_cursor: null });
    const generations = await account.listGenerations({ mode: "live", limit: 10, training_id: "trn_0" });
    expect(generations.items.map((item) => item.id)).toEqual(["gen_4", "gen_3", "gen_2", "gen_1", "gen_0"]);
    expect((await account.listGenerations({ mode: "live", limit: 10, training_id: "trn_1" })).items).toEqual([]);
  });

  it("lists only the asked key mode's jobs", async () => {
    const account = accountStore(env, newId("account"));
    await account.recordTraining({ id: "trn_live", mode: "live", subject_id: "sub_1", status: "queued", created_at: 1 });
    await account.recordTraining({ id: "trn_test", mode: "test", subject_id: "sub_1", status: "queued", created_at: 2 });
    await account.recordGeneration({ id: "gen_test", mode: "test", training_id: "trn_test", status: "queued", created_at: 3 });
    expect((await account.listTrainings({ mode: "live", limit: 10 })).items.map((item) => item.id)).toEqual(["trn_live"]);
    expect((await account.listTrainings({ mode: "test", limit: 10 })).items.map((item) => item.id)).toEqual(["trn_test"]);
    expect((await account.listGenerations({ mode: "live", limit: 10, subject_id: "sub_1" })).items).toEqual([]);
    expect((await account.listGenerations({ mode: "test", limit: 10, subject_id: "sub_1" })).items.map((item) => item.id)).toEqual(["gen_test"]);
  });
});
