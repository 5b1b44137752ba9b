// CronJobs: a real API server, scheduler and hollow nodes, the job controller and the cronjob
// controller in-process — the latter on a clock the test moves, so minutes pass in milliseconds.
// Asserts what a user relies on: one Job per scheduled time (named by its minute, owned by the
// CronJob), the status (active, last schedule, last success), the history limits, each
// concurrency policy, suspend, the starting deadline, only the latest of many missed times — and
// the API rules and real kubectl (`create cronjob`, `get cronjobs`, `create job --from=cronjob/…`).
import { expect } from 'chai';
import type { Job } from '../../shared/api/batch.js';
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type CronJob } from '../../shared/api/cronjob.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { InvalidError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { SharedInformers } from '../../controllers/informers.js';
import { CronJobController } from '../../controllers/cronjob/controller.js';
import { JobController } from '../../controllers/job/controller.js';
import { testControllerContext } from '../controllers/helpers.js';
import { createNamespace, jobManifest, waitFor } from './job-helpers.js';
import { workloadSuite } from './cluster.js';

const CRONJOBS = { group: 'batch', version: 'v1', resource: 'cronjobs' };
const JOBS = { group: 'batch', version: 'v1', resource: 'jobs' };
const MINUTE = 60_000;

/** The job and cronjob controllers with shared informers; the cronjob controller's clock is `offset` ms ahead. */
class Controllers {
  offset = 0;
  readonly informers: SharedInformers;
  readonly cron: CronJobController;
  private readonly jobs: JobController;

  constructor(client: ApiClient) {
    const log = createLogger('controllers', 'error');
    this.informers = new SharedInformers(client, log);
    const ctx = testControllerContext(client, log, this.informers);
    this.jobs = new JobController(ctx, { syncBatchMs: 100 });
    this.cron = new CronJobController(ctx, { now: () => Date.now() + this.offset });
  }

  async start(): Promise<this> {
    this.jobs.start();
    this.cron.start();
    await this.informers.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.cron.stop();
    await this.jobs.stop();
    await this.informers.stop();
  }

  /** Move the clock to just past `at` (ms since the epoch, in the controller's time) and look again. */
  advanceTo(at: number): void {
    this.offset = Math.max(this.offset, at + 1000 - Date.now());
    this.cron.resyncAll();
  }

  now(): number {
    return Date.now() + this.offset;
  }
}

function cronJob(name: string, schedule: string, spec: Record<string, unknown> = {}, job: Parameters<typeof jobManifest>[1] = { runSeconds: 1 }): Record<string, unknown> {
  const template = jobManifest('template', job) as { spec: unknown };
  return { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name }, spec: { schedule, jobTemplate: { metadata: { labels: { from: name } }, spec: template.spec }, ...spec } };
}

/** The first time at or after `ms` that is a multiple of `minutes` (in UTC). */
function nextMultiple(ms: number, minutes: number): number {
  const step = minutes * MINUTE;
  return Math.ceil(ms / step) * step;
}

describe('cronjob controller', function () {
  this.timeout(120_000);
  const cluster = workloadSuite({ name: 'cron', hollowNodes: 2, startControllers: (client) => new Controllers(client).start() });
  const client = () => cluster.client;
  const ctl = () => cluster.controllers;
  // Each test starts on the API server's clock: a controller clock already ahead would find times
  // due between a new CronJob's creation and that clock.
  beforeEach(() => {
    ctl().offset = 0;
  });
  const get = (ns: string, name: string) => client().get<CronJob>({ ...CRONJOBS, namespace: ns, name });
  const jobsOf = async (ns: string, cj: string): Promise<Job[]> =>
    (await client().list<{ items: Job[] }>({ ...JOBS, namespace: ns })).items.filter((j) => j.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === cj) && j.metadata.deletionTimestamp === undefined);
  const events = async (ns: string, name: string) =>
    (await client().list<{ items: { reason?: string; message?: string; involvedObject: { kind?: string; name?: string } }[] }>({ version: 'v1', resource: 'events', namespace: ns })).items.filter((e) => e.involvedObject.kind === 'CronJob' && e.involvedObject.name === name);
  const create = async (ns: string, body: Record<string, unknown>) => {
    await createNamespace(client(), ns);
    return client().create<CronJob>({ ...CRONJOBS, namespace: ns }, body);
  };

  it('makes one Job per scheduled time, named by its minute and owned by the CronJob, and keeps the status', async () => {
    const ns = 'cron-basic';
    const cj = await create(ns, cronJob('tick', '*/5 * * * *'));
    expect(cj.status).to.deep.equal({});
    const due = nextMultiple(Math.max(ctl().now(), Date.parse(cj.metadata.creationTimestamp!)) + 1, 5);
    ctl().advanceTo(due);
    const [job] = await waitFor(async () => {
      const jobs = await jobsOf(ns, 'tick');
      return jobs.length === 1 ? jobs : undefined;
    }, 'the first Job', 10_000, 100);
    expect(job!.metadata.name).to.equal(`tick-${due / MINUTE}`);
    expect(job!.metadata.labels).to.include({ from: 'tick' });
    expect(job!.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]).to.equal(new Date(due).toISOString().replace('.000Z', 'Z'));
    expect(job!.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    const running = await waitFor(async () => {
      const c = await get(ns, 'tick');
      return c.status.active?.length === 1 ? c : undefined;
    }, 'status.active', 10_000, 100);
    expect(running.status.active![0]).to.include({ kind: 'Job', name: job!.metadata.name, uid: job!.metadata.uid });
    expect(Date.parse(running.status.lastScheduleTime!)).to.equal(due);

    // The Job completes: it leaves status.active, and its completion is the last success.
    const done = await waitFor(async () => {
      const c = await get(ns, 'tick');
      return c.status.active === undefined && c.status.lastSuccessfulTime ? c : undefined;
    }, 'the Job seen completed', 30_000, 100);
    expect(Date.parse(done.status.lastSuccessfulTime!)).to.be.at.least(Date.parse(job!.metadata.creationTimestamp!));
    expect((await events(ns, 'tick')).map((e) => e.reason)).to.include.members(['SuccessfulCreate', 'SawCompletedJob']);

    // The clock not moving makes no second Job; the next time makes exactly one more.
    ctl().cron.resyncAll();
    await new Promise((r) => setTimeout(r, 500));
    expect(await jobsOf(ns, 'tick')).to.have.length(1);
    ctl().advanceTo(due + 5 * MINUTE);
    await waitFor(async () => (await jobsOf(ns, 'tick')).length === 2, 'the second Job', 10_000, 100);
  });

  it('keeps only successfulJobsHistoryLimit finished Jobs, deleting the oldest', async () => {
    const ns = 'cron-history';
    const cj = await create(ns, cronJob('kept', '* * * * *', { successfulJobsHistoryLimit: 2 }));
    let at = nextMultiple(Math.max(ctl().now(), Date.parse(cj.metadata.creationTimestamp!)) + 1, 1);
    const made: string[] = [];
    for (let i = 0; i < 4; i++, at += MINUTE) {
      ctl().advanceTo(at);
      made.push(`kept-${at / MINUTE}`);
      // Each run completes before the next is due.
      await waitFor(async () => {
        const c = await get(ns, 'kept');
        return c.status.lastSuccessfulTime !== undefined && c.status.active === undefined && Date.parse(c.status.lastScheduleTime ?? '') === at ? c : undefined;
      }, `run ${i} done`, 30_000, 100);
    }
    const left = await waitFor(async () => {
      const jobs = await jobsOf(ns, 'kept');
      return jobs.length === 2 ? jobs : undefined;
    }, 'two Jobs kept', 10_000, 100);
    expect(left.map((j) => j.metadata.name).sort()).to.deep.equal(made.slice(2).sort());
  });

  it('Forbid skips a time while a Job runs, and starts it once the Job ends; Replace swaps the running Job', async () => {
    const ns = 'cron-concurrency';
    const forbid = await create(ns, cronJob('forbid', '*/10 * * * *', { concurrencyPolicy: 'Forbid' }, { runSeconds: 8 }));
    await client().create({ ...CRONJOBS, namespace: ns }, cronJob('replace', '*/10 * * * *', { concurrencyPolicy: 'Replace' }, { runSeconds: 600 }));
    const first = nextMultiple(Math.max(ctl().now(), Date.parse(forbid.metadata.creationTimestamp!)) + 1, 10);
    ctl().advanceTo(first);
    await waitFor(async () => (await jobsOf(ns, 'forbid')).length === 1 && (await jobsOf(ns, 'replace')).length === 1, 'one Job each', 10_000, 100);
    const [replaced] = await jobsOf(ns, 'replace');

    ctl().advanceTo(first + 10 * MINUTE);
    await waitFor(async () => (await events(ns, 'forbid')).some((e) => e.reason === 'JobAlreadyActive'), 'the skip said', 10_000, 100);
    expect(await jobsOf(ns, 'forbid')).to.have.length(1);
    // Once the running one completes, the time it held back runs.
    await waitFor(async () => (await jobsOf(ns, 'forbid')).some((j) => j.metadata.name === `forbid-${(first + 10 * MINUTE) / MINUTE}`), 'the held time run', 30_000, 100);

    const now = await waitFor(async () => {
      const jobs = await jobsOf(ns, 'replace');
      return jobs.length === 1 && jobs[0]!.metadata.uid !== replaced!.metadata.uid ? jobs : undefined;
    }, 'the running Job replaced', 10_000, 100);
    expect(now[0]!.metadata.name).to.equal(`replace-${(first + 10 * MINUTE) / MINUTE}`);
    const c = await get(ns, 'replace');
    expect(c.status.active?.map((r) => r.uid)).to.deep.equal([now[0]!.metadata.uid]);
  });

  it('suspend holds every run; a run past startingDeadlineSeconds is missed; of many missed times only the latest runs', async () => {
    const ns = 'cron-missed';
    const held = await create(ns, cronJob('held', '* * * * *', { suspend: true }));
    await client().create({ ...CRONJOBS, namespace: ns }, cronJob('late', '0 0 1 1 *', { startingDeadlineSeconds: 30 }));
    await client().create({ ...CRONJOBS, namespace: ns }, cronJob('behind', '* * * * *'));
    const created = Date.parse(held.metadata.creationTimestamp!);
    // The next New Year, 45 s after midnight: 'late' is past its 30 s deadline, 'behind' missed weeks of minutes.
    const year = new Date(created).getUTCFullYear() + 1;
    const newYear = Date.UTC(year, 0, 1);
    ctl().offset = newYear + 45_000 - Date.now();
    ctl().cron.resyncAll();
    const latest = `behind-${newYear / MINUTE}`;
    await waitFor(async () => (await jobsOf(ns, 'behind')).some((j) => j.metadata.name === latest), 'the latest missed time run', 10_000, 100);
    await waitFor(async () => (await events(ns, 'late')).some((e) => e.reason === 'MissSchedule'), 'the missed run said', 10_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    // Only the latest ran (a minute that ended, in real time, before the jump may have run too).
    const early = (created + 2 * MINUTE) / MINUTE;
    expect((await jobsOf(ns, 'behind')).map((j) => j.metadata.name).filter((n) => Number(n!.slice('behind-'.length)) > early)).to.deep.equal([latest]);
    expect((await events(ns, 'behind')).some((e) => e.reason === 'TooManyMissedTimes')).to.equal(true);
    expect(await jobsOf(ns, 'late')).to.have.length(0);
    expect(Date.parse((await get(ns, 'late')).status.lastScheduleTime ?? '')).to.equal(newYear);
    expect(await jobsOf(ns, 'held')).to.have.length(0);

    // Resumed: the latest time it missed runs at once, as in Kubernetes (startingDeadlineSeconds would skip it).
    await client().patch({ ...CRONJOBS, namespace: ns, name: 'held' }, { spec: { suspend: false } }, 'merge');
    const resumed = await waitFor(async () => {
      const jobs = await jobsOf(ns, 'held');
      return jobs.length > 0 ? jobs : undefined;
    }, 'a run after resuming', 10_000, 100);
    expect(resumed.map((j) => j.metadata.name)).to.deep.equal([`held-${newYear / MINUTE}`]);
  });

  it('refuses bad schedules, time zones, limits and templates with the field named', async () => {
    const ns = 'cron-invalid';
    await createNamespace(client(), ns);
    const cases: [Record<string, unknown>, string][] = [
      [cronJob('a', '61 * * * *'), 'spec.schedule'],
      [cronJob('b', '* * * *'), 'spec.schedule'],
      [cronJob('c', 'TZ=UTC * * * * *'), 'spec.schedule'],
      [cronJob('d', '* * * * *', { timeZone: 'Mars/Olympus' }), 'spec.timeZone'],
      [cronJob('e', '* * * * *', { successfulJobsHistoryLimit: -1 }), 'spec.successfulJobsHistoryLimit'],
      [cronJob('f', '* * * * *', {}, { restartPolicy: 'Always' as 'Never' }), 'spec.jobTemplate.spec.template.spec.restartPolicy'],
      [cronJob('a-name-that-is-too-long-for-a-cronjob-once-suffixed-x', '* * * * *'), 'metadata.name'],
    ];
    for (const [body, field] of cases) {
      const err = await client().create({ ...CRONJOBS, namespace: ns }, body).then(() => undefined, (e: unknown) => e);
      expect(err, field).to.be.instanceOf(InvalidError);
      expect((err as InvalidError).causes.map((c) => c.field), field).to.include(field);
    }
    expect(await client().create<CronJob>({ ...CRONJOBS, namespace: ns }, cronJob('ok', '30 4 * * mon-fri', { timeZone: 'Europe/Berlin' }))).to.have.nested.property('spec.timeZone', 'Europe/Berlin');
  });

  it('kubectl create cronjob, get cronjobs, and create job --from=cronjob', async () => {
    const ns = 'cron-kubectl';
    await createNamespace(client(), ns);
    const made = await cluster.kubectl(['create', 'cronjob', 'hello', '-n', ns, '--image=busybox', '--schedule=0 0 1 1 *', '--', 'true']);
    expect(made.code, made.stderr).to.equal(0);
    expect(made.stdout.trim()).to.equal('cronjob.batch/hello created');
    const table = await cluster.kubectl(['get', 'cronjobs', '-n', ns]);
    expect(table.stdout.split('\n')[0]).to.match(/^NAME +SCHEDULE +TIMEZONE +SUSPEND +ACTIVE +LAST SCHEDULE +AGE$/);
    expect(table.stdout.split('\n')[1]).to.match(/^hello +0 0 1 1 \* +<none> +False +0 +<none> +\d+s$/);
    const manual = await cluster.kubectl(['create', 'job', 'hello-now', '-n', ns, '--from=cronjob/hello']);
    expect(manual.code, manual.stderr).to.equal(0);
    const job = await client().get<Job>({ ...JOBS, namespace: ns, name: 'hello-now' });
    expect(job.metadata.annotations).to.include({ 'cronjob.kubernetes.io/instantiate': 'manual' });
    expect(job.metadata.ownerReferences?.[0]).to.include({ kind: 'CronJob', name: 'hello' });
    const short = await cluster.kubectl(['get', 'cj', 'hello', '-n', ns, '-o', 'jsonpath={.spec.schedule}']);
    expect(short.stdout).to.equal('0 0 1 1 *');
  });
});
