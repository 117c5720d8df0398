import assert from "node:assert/strict";
import { dir, download, exec, file, note } from "../../lib/changes.ts";
import { UsageError } from "../../lib/errors.ts";
import { journalLogPath, journalPath, readJournal } from "../../lib/journal.ts";
import { memoryLogger } from "../../lib/log.ts";
import { parseStepList, runSteps, selectSteps } from "../../lib/runner.ts";
import type { Change, Step, StepContext } from "../../lib/step.ts";
import { sha256, snapshotTree, tempHost } from "../support/helpers.ts";
import { serveFetchable } from "../../fakes/common.ts";

/** A tiny process: a dir, a config file whose content is an input, and a "restart" triggered by it. */
function process(config: string, opts: { crashAtStep3?: { armed: boolean } } = {}): Step[] {
  return [
    { id: "t.1", number: 1, title: "Make /etc/demo", plan: () => [dir("/etc/demo")] },
    {
      id: "t.2",
      number: 2,
      title: "Write config",
      plan: () => [file("/etc/demo/app.conf", config, { mode: 0o600 })],
    },
    {
      id: "t.3",
      number: 3,
      title: "Record a restart when the config changed",
      plan: () => {
        const crash: Change = {
          kind: "crash",
          key: "crash",
          describe: () => "simulated power loss",
          satisfied: () => Promise.resolve(!opts.crashAtStep3?.armed),
          apply: () => {
            opts.crashAtStep3!.armed = false;
            throw new Error("power lost");
          },
        };
        return [
          crash,
          exec(["sh", "-c", 'echo restarted >> "$0"', "RESTARTS"], {
            whenChanged: ["/etc/demo/app.conf"],
            key: "restart-demo",
          }),
          note("this line is a note, not a change"),
        ];
      },
    },
  ];
}

/** Rewrites the RESTARTS placeholder to a real path inside the root. */
function withRestartLog(steps: Step[], path: string): Step[] {
  return steps.map((s) => ({
    ...s,
    plan: async (ctx: StepContext) =>
      (await s.plan(ctx)).map((c) =>
        c.kind === "exec"
          ? exec(["sh", "-c", 'echo restarted >> "$0"', path], {
            whenChanged: ["/etc/demo/app.conf"],
            key: c.key,
          })
          : c
      ),
  }));
}

Deno.test("run applies changes; rerun with same inputs reports 0 changes; changed input reapplies only it", async () => {
  const host = await tempHost();
  const log = memoryLogger();
  const steps = withRestartLog(process("a=1\n"), `${host.root}/restarts`);
  const first = await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  assert.equal(first.changeCount, 3);
  assert.equal(await host.readText("/etc/demo/app.conf"), "a=1\n");
  assert.equal((await host.stat("/etc/demo/app.conf"))?.mode, 0o600);
  const second = await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  assert.equal(second.changeCount, 0);
  assert.equal(await Deno.readTextFile(`${host.root}/restarts`), "restarted\n");
  const third = await runSteps(withRestartLog(process("a=2\n"), `${host.root}/restarts`), {
    host,
    log,
    dryRun: false,
  }, {
    process: "t",
    dryRun: false,
  });
  assert.deepEqual(third.steps.map((s) => s.changes.length), [0, 1, 1]);
  assert.equal(await Deno.readTextFile(`${host.root}/restarts`), "restarted\nrestarted\n");
  assert.ok(log.lines.some((l) => l.includes("this line is a note")));
});

Deno.test("dry-run prints the plan and changes nothing", async () => {
  const host = await tempHost();
  const log = memoryLogger();
  const steps = withRestartLog(process("a=1\n"), `${host.root}/restarts`);
  const sum = await runSteps(steps, { host, log, dryRun: true }, { process: "t", dryRun: true });
  assert.equal(sum.changeCount, 3);
  assert.deepEqual(await snapshotTree(host.root), {});
  assert.ok(log.lines.some((l) => /would file \/etc\/demo\/app.conf 0600 root:root/.test(l)));
  assert.ok(log.lines.some((l) => /would run sh -c/.test(l)), "triggered commands show in the plan");
});

Deno.test("a run killed midway resumes: triggers from the interrupted run still fire; same tree as a clean run", async () => {
  const host = await tempHost();
  const log = memoryLogger();
  const crash = { armed: true };
  const steps = withRestartLog(process("a=1\n", { crashAtStep3: crash }), `${host.root}/restarts`);
  await assert.rejects(
    runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false }),
    /power lost/,
  );
  const journal = (await readJournal(host, "t"))!;
  assert.equal(journal.finished, false);
  assert.deepEqual(journal.changed, ["/etc/demo", "/etc/demo/app.conf"]);
  assert.equal(await host.exists("/restarts"), false);

  const resumed = await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  assert.ok(resumed.resumedFrom);
  assert.equal(await Deno.readTextFile(`${host.root}/restarts`), "restarted\n", "the restart was not lost");
  assert.ok(log.lines.some((l) => l.startsWith("resuming an interrupted t run")));

  const clean = await tempHost();
  await runSteps(withRestartLog(process("a=1\n"), `${clean.root}/restarts`), {
    host: clean,
    log,
    dryRun: false,
  }, {
    process: "t",
    dryRun: false,
  });
  const skipJournal = [/^\/var\/lib\/eksnode\/journal\//];
  assert.deepEqual(await snapshotTree(host.root, skipJournal), await snapshotTree(clean.root, skipJournal));
});

Deno.test("step selection: --only, --skip, --from, ranges, unknown numbers", () => {
  const steps = process("x");
  assert.deepEqual(parseStepList("1-3,9", "--only", "1,3 or 1-2"), [1, 2, 3, 9]);
  assert.throws(() => parseStepList("a", "--only", "1,3 or 1-2"), UsageError);
  // The hint's example is the command's own, not another command's step numbers.
  assert.throws(
    () => parseStepList("a", "--skip", "1,3 or 1-2"),
    (e: UsageError) => e.hint === "use e.g. --skip 1,3 or 1-2",
  );
  assert.throws(() => parseStepList("3-1", "--only", "1,3 or 1-2"), /backwards/);
  assert.deepEqual(selectSteps(steps, { only: [1, 3] }).map((s) => s.number), [1, 3]);
  assert.deepEqual(selectSteps(steps, { skip: [2] }).map((s) => s.number), [1, 3]);
  assert.deepEqual(selectSteps(steps, { from: 2 }).map((s) => s.number), [2, 3]);
  assert.throws(() => selectSteps(steps, { only: [7] }), /--only: there is no step 7/);
});

Deno.test("--log-format json: every line parses and carries the event", async () => {
  const host = await tempHost();
  const log = memoryLogger("json");
  await runSteps(process("a\n").slice(0, 2), { host, log, dryRun: false }, { process: "t", dryRun: false });
  const events = log.lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    events.map((e) => e.event).filter(Boolean),
    [
      "run.start",
      "step.start",
      "change.applied",
      "step.done",
      "step.start",
      "change.applied",
      "step.done",
      "run.done",
    ],
  );
  assert.equal(events.at(-1).changes, 2);
  assert.ok(events.every((e) => typeof e.time === "string" && e.level));
});

Deno.test("--output json: every record has an event, and a step while one runs (free-form lines too)", async () => {
  const host = await tempHost();
  const log = memoryLogger("json");
  const noisy: Step = {
    id: "t.9",
    number: 9,
    title: "a step that logs a line of its own",
    plan: (ctx) => {
      ctx.log.info("validator: a note");
      ctx.log.warn("a warning");
      return [];
    },
  };
  await runSteps([noisy], { host, log, dryRun: false }, { process: "t", dryRun: false });
  log.info("after the run");
  const events = log.lines.map((l) => JSON.parse(l));
  assert.ok(events.every((e) => typeof e.event === "string"), JSON.stringify(events));
  const own = events.filter((e) => e.event.startsWith("log."));
  // The step is planned twice (once to start its downloads early): both plans' lines name it.
  assert.deepEqual(own.map((e) => [e.event, e.step]), [
    ["log.info", "t.9"],
    ["log.warn", "t.9"],
    ["log.info", "t.9"],
    ["log.warn", "t.9"],
    ["log.info", undefined],
  ]);
});

Deno.test("downloads of all steps are prefetched in parallel, at most --jobs at once, and land verified", async () => {
  const bodies = Array.from(
    { length: 5 },
    (_, i) => new TextEncoder().encode(`artifact ${i}\n`.repeat(1000)),
  );
  let inFlight = 0;
  let maxInFlight = 0;
  const server = serveFetchable({ hostname: "127.0.0.1" }, async (req) => {
    const i = Number(new URL(req.url).pathname.slice(1));
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 150));
    inFlight--;
    return new Response(bodies[i]);
  });
  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  const steps: Step[] = bodies.map((b, i) => ({
    id: `t.${i + 1}`,
    number: i + 1,
    title: `download ${i}`,
    plan: () => [download({ url: `${url}/${i}`, sha256: sha256(b) }, `/usr/bin/tool${i}`)],
  }));
  try {
    for (const jobs of [2, 4]) {
      maxInFlight = 0;
      const host = await tempHost();
      const sum = await runSteps(steps, { host, log: memoryLogger(), dryRun: false }, {
        process: "t",
        dryRun: false,
        jobs,
      });
      assert.equal(sum.changeCount, 5);
      assert.equal(maxInFlight, jobs, `downloads of different steps overlap, at most ${jobs} at once`);
      for (const [i, b] of bodies.entries()) assert.deepEqual(await host.readBytes(`/usr/bin/tool${i}`), b);
      assert.deepEqual(
        await host.readDir("/var/cache/eksnode"),
        [],
        "no prefetched file is left in the image",
      );
    }
  } finally {
    await server.shutdown();
  }
});

/** The journal a run of process "t" (id "killed") wrote when it began, before it was killed. */
function killedRun() {
  return {
    version: 1,
    process: "t",
    runId: "killed",
    startedAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    finished: false,
    stepsDone: [] as string[],
    changed: [] as string[],
    applying: [] as string[],
  };
}

Deno.test("write-ahead journal: a change that landed just before a kill still fires its trigger on resume", async () => {
  for (const applying of [["/etc/demo/app.conf"], []]) {
    const host = await tempHost();
    const log = memoryLogger();
    // What a run killed right after renaming app.conf into place leaves: the file, and a journal that
    // recorded the change as being applied (write-ahead) but not yet as applied.
    await host.mkdir("/etc/demo");
    await host.writeFile("/etc/demo/app.conf", "a=1\n", { mode: 0o600 });
    await host.writeFile(
      journalPath("t"),
      JSON.stringify({ ...killedRun(), stepsDone: ["t.1"], changed: ["/etc/demo"], applying }),
    );
    const steps = withRestartLog(process("a=1\n"), `${host.root}/restarts`);
    const resumed = await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
    assert.equal(resumed.resumedFrom, "killed");
    // Without the write-ahead record the landed change looks untouched, and the restart would be lost.
    assert.equal(await host.exists("/restarts"), applying.length > 0);
  }
});

Deno.test("journal log: a killed run's records are replayed on resume, a line torn by a power cut is ignored", async () => {
  const host = await tempHost();
  const log = memoryLogger();
  // What a run killed right after renaming app.conf into place leaves: the file, and a log whose last
  // record announced the change (write-ahead), followed by half a line.
  await host.mkdir("/etc/demo");
  await host.writeFile("/etc/demo/app.conf", "a=1\n", { mode: 0o600 });
  const begun = killedRun();
  await host.writeFile(
    journalLogPath("t"),
    [begun, { applying: "/etc/demo" }, { applied: "/etc/demo" }, { step: "t.1" }, {
      applying: "/etc/demo/app.conf",
    }].map((r) => JSON.stringify(r)).join("\n") + '\n{"applying":"/etc/de',
  );
  const read = (await readJournal(host, "t"))!;
  assert.deepEqual(
    [read.runId, read.finished, read.stepsDone, read.changed, read.applying],
    ["killed", false, ["t.1"], ["/etc/demo"], ["/etc/demo/app.conf"]],
  );
  const steps = withRestartLog(process("a=1\n"), `${host.root}/restarts`);
  const resumed = await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  assert.equal(resumed.resumedFrom, "killed");
  assert.equal(await host.exists("/restarts"), true, "the landed change still fires its trigger");
  assert.deepEqual(
    await host.readDir("/var/lib/eksnode/journal"),
    ["t.json"],
    "the log is removed at the end",
  );
  const done = JSON.parse((await host.readText(journalPath("t")))!);
  assert.equal(done.finished, true);
  assert.equal(done.resumedFrom, "killed");
});

Deno.test("journal log: one left beside the finished journal of its own run (killed in between) is not resumed", async () => {
  const host = await tempHost();
  const log = memoryLogger();
  const steps = withRestartLog(process("a=1\n"), `${host.root}/restarts`);
  await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  const finished = JSON.parse((await host.readText(journalPath("t")))!);
  await host.writeFile(
    journalLogPath("t"),
    JSON.stringify({ ...finished, finished: false }) + "\n" + JSON.stringify({ applying: "/etc/demo" }) +
      "\n",
  );
  assert.equal((await readJournal(host, "t"))?.finished, true);
  const again = await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  assert.equal(again.resumedFrom, undefined);
  assert.equal(again.changeCount, 0);
  assert.deepEqual(await host.readDir("/var/lib/eksnode/journal"), ["t.json"]);
});

Deno.test("journal saves from parallel changes are written one after another and keep every key", async () => {
  const host = await tempHost();
  const log = memoryLogger();
  const many: Change[] = Array.from(
    { length: 12 },
    (_, i) => ({ ...file(`/p/${i}`, `${i}`), parallel: true }),
  );
  await runSteps([{ id: "t.1", number: 1, title: "parallel", plan: () => many }], {
    host,
    log,
    dryRun: false,
  }, {
    process: "t",
    dryRun: false,
    jobs: 6,
  });
  const journal = JSON.parse((await host.readText(journalPath("t")))!);
  assert.equal(journal.finished, true);
  assert.deepEqual([...journal.changed].sort(), many.map((c) => c.key).sort());
  assert.deepEqual(await host.readDir("/var/lib/eksnode/journal"), ["t.json"], "no temp file left");
});

Deno.test("a resumed run sweeps temps a killed run left in the journal's directory (files no run writes again)", async () => {
  // Found by the exhaustive crash test: a kill while the remembered hashes were saved left their temp,
  // and a later run with nothing new to remember never wrote that file again.
  const host = await tempHost();
  const log = memoryLogger();
  const steps = withRestartLog(process("a=1\n"), `${host.root}/restarts`);
  await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  const stale = "/var/lib/eksnode/journal/.verified-hashes.json.eksnode-0123abcd.tmp";
  await host.writeFile(stale, "half");
  const journal = JSON.parse((await host.readText(journalPath("t")))!);
  await host.writeFile(journalPath("t"), JSON.stringify({ ...journal, finished: false }));
  await runSteps(steps, { host, log, dryRun: false }, { process: "t", dryRun: false });
  assert.equal(await host.exists(stale), false);
});
