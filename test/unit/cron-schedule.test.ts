// Cron schedules as a CronJob reads them (shared/cron-schedule.ts): Kubernetes' grammar and bounds,
// the times named (classic cron's day-of-month OR day-of-week), time zones across a DST change,
// and the latest of the times missed in a window.
import { expect } from 'chai';
import { CronSchedule, scheduleErrors, timeZoneErrors } from '../../shared/cron-schedule.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('cron schedules', () => {
  it('accepts the five-field grammar, names, ? and the descriptors', () => {
    for (const s of ['*/5 * * * *', '0 3 * * 1-5', '15,45 8-18/2 * * MON-fri', '0 0 ? * SUN', '0 0 1 jan,JUL *', '@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually', '  1 2 3 4 5  ']) {
      expect(scheduleErrors(s), s).to.deep.equal([]);
    }
  });

  it('refuses what Kubernetes refuses, saying which field and why', () => {
    const cases: [string, string][] = [
      ['* * * *', 'expected exactly 5 fields, found 4: * * * *'],
      ['* * * * * *', 'expected exactly 5 fields, found 6: * * * * * *'],
      ['61 * * * *', 'minute: end of range (61) above maximum (59): 61'],
      ['* 24 * * *', 'hour: end of range (24) above maximum (23): 24'],
      ['* * 0 * *', 'day of month: beginning of range (0) below minimum (1): 0'],
      ['* * * 13 *', 'month: end of range (13) above maximum (12): 13'],
      ['* * * * 7', 'day of week: end of range (7) above maximum (6): 7'],
      ['5-1 * * * *', 'minute: beginning of range (5) beyond end of range (1): 5-1'],
      ['*/0 * * * *', 'minute: step of range should be a positive number: */0'],
      ['1/2/3 * * * *', 'minute: too many slashes: 1/2/3'],
      ['? * * * *', 'minute: failed to parse int from ?'],
      ['0 0 L * *', 'day of month: failed to parse int from L'],
      ['0 0 * * 1#2', 'day of week: failed to parse int from 1#2'],
      ['H * * * *', 'minute: failed to parse int from H'],
      ['@every 1h', 'unrecognized descriptor: @every 1h'],
      ['TZ=UTC 0 * * * *', 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
      ['CRON_TZ=UTC 0 * * * *', 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
    ];
    for (const [s, message] of cases) expect(scheduleErrors(s), s).to.deep.equal([message]);
    expect(() => CronSchedule.parse('61 * * * *')).to.throw('minute: end of range (61) above maximum (59): 61');
  });

  it('knows IANA time zones only', () => {
    expect(timeZoneErrors('Europe/Berlin')).to.deep.equal([]);
    expect(timeZoneErrors('America/Argentina/Buenos_Aires')).to.deep.equal([]);
    expect(timeZoneErrors('Mars/Olympus')).to.deep.equal(['unknown time zone Mars/Olympus']);
    expect(timeZoneErrors('')).to.have.length(1);
    expect(() => CronSchedule.parse('0 3 * * *', 'Mars/Olympus')).to.throw('unknown time zone Mars/Olympus');
  });

  it('names the next time, day of month OR day of week when both are restricted', () => {
    const s = CronSchedule.parse('0 12 13 * 5');
    let t = at('2026-01-01T00:00:00Z');
    const times: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) times.push(iso((t = s.next(t))));
    // Fridays (Jan 2, 9, 16) and the 13th (a Tuesday).
    expect(times).to.deep.equal(['2026-01-02T12:00:00.000Z', '2026-01-09T12:00:00.000Z', '2026-01-13T12:00:00.000Z', '2026-01-16T12:00:00.000Z']);
    expect(iso(CronSchedule.parse('@monthly').next(at('2026-02-15T10:00:00Z')))).to.equal('2026-03-01T00:00:00.000Z');
    // Strictly after: a time exactly on the schedule gives the one after it.
    expect(iso(CronSchedule.parse('*/15 * * * *').next(at('2026-01-01T00:15:00Z')))).to.equal('2026-01-01T00:30:00.000Z');
  });

  it('reads the schedule in its time zone, across a daylight-saving change', () => {
    const berlin = CronSchedule.parse('0 9 * * *', 'Europe/Berlin');
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer (clocks moved on March 29, 2026).
    expect(iso(berlin.next(at('2026-03-28T12:00:00Z')))).to.equal('2026-03-29T07:00:00.000Z');
    expect(iso(berlin.next(at('2026-03-27T12:00:00Z')))).to.equal('2026-03-28T08:00:00.000Z');
    expect(iso(CronSchedule.parse('0 3 * * *', 'America/New_York').next(at('2026-01-01T00:07:00Z')))).to.equal('2026-01-01T08:00:00.000Z');
  });

  it('finds the latest time in a window and counts the times missed', () => {
    const s = CronSchedule.parse('*/15 * * * *');
    expect(s.latestIn(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:14:59Z'))).to.deep.equal({ latest: undefined, count: 0 });
    // The end of the window counts; its start does not.
    expect(s.latestIn(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:15:00Z'))).to.deep.equal({ latest: at('2026-01-01T00:15:00Z'), count: 1 });
    expect(s.latestIn(at('2026-01-01T00:00:00Z'), at('2026-01-01T01:07:00Z'))).to.deep.equal({ latest: at('2026-01-01T01:00:00Z'), count: 4 });
    // Ten days of every minute: the latest, and "more than 100" rather than 14,400 counted.
    const tenDays = CronSchedule.parse('* * * * *').latestIn(at('2026-01-01T00:00:00Z'), at('2026-01-11T00:00:30Z'));
    expect(tenDays).to.deep.equal({ latest: at('2026-01-11T00:00:00Z'), count: 101 });
    expect(s.latestIn(at('2026-01-01T01:00:00Z'), at('2026-01-01T00:00:00Z'))).to.deep.equal({ latest: undefined, count: 0 });
  });
});
