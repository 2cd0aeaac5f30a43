import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accountStore } from "../accounts/account-do";
import { createAccount, jsonInit, testEnv, type TestAccount } from "../../test/helpers/api";
import { fireTimer, jobStub, readySubject, timersOf, waitFor } from "../../test/helpers/jobs";

async function succeededTraining(account: TestAccount): Promise<string> {
  const subject = await readySubject(account);
  const response = await account.request("/v1/trainings", jsonInit("POST", { subject_id: subject.id, params: { steps: 2, prior_preservation: { enabled: false } } }));
  expect(response.status).toBe(202);
  const { id } = await response.json<{ id: string }>();
  await waitFor(account, `/v1/trainings/${id}`, (job) => job.status === "succeeded");
  return id;
}

const listedStatus = async (account: TestAccount, id: string) => (await accountStore(testEnv, account.accountId).getTraining(id))?.status;

describe("the account listing's copy of a job's status", () => {
  it("follows every status change, counted by the job, and the update owed is gone once the account has it", async () => {
    const account = await createAccount();
    const id = await succeededTraining(account);
    await expect.poll(() => listedStatus(account, id)).toBe("succeeded");
    await expect.poll(async () => (await timersOf(id)).index).toBeUndefined();
    // queued → dispatched → training → succeeded, at least: each change counted once.
    const versions = await runInDurableObject(jobStub(id), (_, state) => ({
      job: state.storage.sql.exec<{ v: number }>("SELECT status_version AS v FROM job").one().v,
    }));
    expect(versions.job).toBeGreaterThanOrEqual(3);
    // An update that arrives late (an older version) cannot undo the newer status.
    await accountStore(testEnv, account.accountId).updateJobStatus(id, "training", versions.job - 1);
    expect(await listedStatus(account, id)).toBe("succeeded");
  });

  it("is brought up to date by the alarm when the push after a save never happened", async () => {
    const account = await createAccount();
    const id = await succeededTraining(account);
    await expect.poll(() => listedStatus(account, id)).toBe("succeeded");
    // As if the job object had stopped between saving its record (which queued the update) and pushing it:
    // the account still holds the status the job was created with.
    await runInDurableObject(accountStore(testEnv, account.accountId), (_, state) => {
      state.storage.sql.exec("UPDATE jobs SET status = 'queued', status_version = 0 WHERE id = ?", id);
    });
    await runInDurableObject(jobStub(id), (_, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO timers (name, at) VALUES ('index', ?)", Date.now() + 10_000);
    });
    expect(await listedStatus(account, id)).toBe("queued");
    await fireTimer(id, "index");
    // The platform may run the alarm itself as soon as it is due, beside fireTimer's run: poll.
    await expect.poll(() => listedStatus(account, id)).toBe("succeeded");
    await expect.poll(async () => (await timersOf(id)).index).toBeUndefined();
  });
});
