import assert from "node:assert/strict";
import { awsMaxAttempts, isRetryableAwsError } from "../../../eks/aws/call.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { backoffDelay, withBackoff } from "../../../lib/retry.ts";

Deno.test("aws_retry: backoffDelay is full jitter under an exponential, capped ceiling", () => {
  const table: [attempt: number, random: number, want: number][] = [
    [1, 0.999999, 99], // ceiling 100
    [2, 0.5, 100], // ceiling 200
    [3, 0.5, 200], // ceiling 400
    [5, 0.5, 500], // ceiling 1600, capped at 1000
    [30, 0.5, 500], // huge exponent, still capped
    [4, 0, 0], // full jitter reaches zero
  ];
  for (const [attempt, r, want] of table) {
    assert.equal(backoffDelay(attempt, 100, 1000, () => r), want, `attempt ${attempt}, random ${r}`);
  }
});

/** A fake clock whose sleep advances time, so bounds can be tested without waiting. */
function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

Deno.test("aws_retry: retries until success and reports each wait", async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  let calls = 0;
  const out = await withBackoff(({ attempt }) => {
    seen.push(attempt);
    if (++calls < 3) return Promise.reject(new Error("busy"));
    return Promise.resolve("ok");
  }, { attempts: 5, baseMs: 100, maxMs: 1000, random: () => 0.5, sleep: clock.sleep, now: clock.now });
  assert.equal(out, "ok");
  assert.deepEqual(seen, [0, 1, 2]);
  assert.deepEqual(clock.sleeps, [50, 100]);
});

Deno.test("aws_retry: stops at the attempt count and rethrows the last error", async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    () =>
      withBackoff(() => Promise.reject(new Error(`fail ${++calls}`)), {
        attempts: 3,
        sleep: clock.sleep,
        now: clock.now,
      }),
    /fail 3/,
  );
  assert.equal(calls, 3);
  assert.equal(clock.sleeps.length, 2);
});

Deno.test("aws_retry: a non-retryable error is thrown at once", async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    () =>
      withBackoff(() => {
        calls++;
        return Promise.reject(new TypeError("bad input"));
      }, { attempts: 10, isRetryable: (e) => !(e instanceof TypeError), sleep: clock.sleep, now: clock.now }),
    TypeError,
  );
  assert.equal(calls, 1);
  assert.deepEqual(clock.sleeps, []);
});

Deno.test("aws_retry: the total time bound ends retries before the count does", async () => {
  const clock = fakeClock();
  let calls = 0;
  const remaining: number[] = [];
  await assert.rejects(() =>
    withBackoff(({ remainingMs }) => {
      calls++;
      remaining.push(remainingMs);
      return Promise.reject(new Error("down"));
    }, {
      attempts: 100,
      baseMs: 100,
      maxMs: 100,
      totalMs: 350,
      random: () => 0.99,
      sleep: clock.sleep,
      now: clock.now,
    })
  );
  // Waits of 99 ms: tries at t=0, 99, 198, 297; a fifth would start at 396 > 350.
  assert.equal(calls, 4);
  assert.deepEqual(remaining, [350, 251, 152, 53]);
  assert.ok(clock.now() <= 350);
});

Deno.test("aws_retry: which SDK errors are tried again (and AWS_MAX_ATTEMPTS is read strictly)", () => {
  const sdkError = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  assert.ok(isRetryableAwsError(sdkError("ThrottlingException", 400)));
  assert.ok(isRetryableAwsError(sdkError("InternalError", 500)));
  assert.ok(isRetryableAwsError(sdkError("TimeoutError")), "no answer at all (connection refused, timeout)");
  assert.ok(!isRetryableAwsError(sdkError("AccessDeniedException", 403)));
  assert.ok(!isRetryableAwsError(sdkError("CredentialsProviderError")), "no credentials: final");
  assert.equal(awsMaxAttempts({}), undefined);
  assert.equal(awsMaxAttempts({ AWS_MAX_ATTEMPTS: " 3 " }), 3);
  for (const bad of ["0", "-1", "2.5", "lots"]) {
    assert.throws(() => awsMaxAttempts({ AWS_MAX_ATTEMPTS: bad }), ConfigError, bad);
  }
});
