// Profiles: the shipped ones load; mistakes are reported clearly; plugin modules resolve relative
// to the profile file.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidError } from '../../../shared/errors.js';
import { loadProfile, parseProfile } from '../../../schedulers/profile/profile.js';
import { FakeCluster, pod } from './fake-cluster.js';

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('scheduler profiles (YAML)', () => {
  it('ships default (spread, fine) and binpack (MostAllocated)', () => {
    const def = loadProfile('default');
    expect(def.profile).to.include({ name: 'default', conflictMode: 'fine', batchSize: 50 });
    const binpack = loadProfile('binpack').profile;
    const fit = binpack.plugins.find((p) => p.name === 'NodeResourcesFit');
    expect(fit?.args).to.deep.include({ scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }] } });
  });

  it('reports schema mistakes with their field', () => {
    expect(() => parseProfile('name: x\nconflictMode: sometimes\nplugins: [{name: PrioritySort}]', 'p.yaml')).to.throw(InvalidError, /conflictMode/);
    expect(() => parseProfile('name: x\nplugins: []', 'p.yaml')).to.throw(InvalidError, /plugins/);
    expect(() => parseProfile('name: x\nplugins: [{weight: 2}]', 'p.yaml')).to.throw(InvalidError, /needs a name \(a built-in\) or a module/);
    expect(() => parseProfile('name: [', 'p.yaml')).to.throw(InvalidError, /p\.yaml/);
    expect(() => loadProfile('no-such-profile')).to.throw(InvalidError, /unknown profile/);
  });

  it('reports unknown plugins, bad plugin args and a missing queue sort', async () => {
    const c = new FakeCluster();
    expect((await rejects(c.load('name: x\nplugins: [{name: PrioritySort}, {name: NoSuchPlugin}]'))).message).to.match(/unknown plugin "NoSuchPlugin"/);
    expect((await rejects(c.load('name: x\nplugins: [{name: PrioritySort}, {name: NodeResourcesFit, args: {scoringStrategy: {type: Random}}}]'))).message).to.match(
      /NodeResourcesFit: invalid args: scoringStrategy\.type/,
    );
    expect((await rejects(c.load('name: x\nplugins: [{name: NodeResourcesFit}]'))).message).to.match(/exactly one QueueSort plugin/);
  });

  it('loads plugin modules relative to the profile, with their args', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cell-profile-'));
    const file = path.join(dir, 'only-b.yaml');
    writeFileSync(
      file,
      [
        'name: only-b',
        'plugins:',
        '  - name: PrioritySort',
        `  - module: ${path.relative(dir, path.resolve('schedulers/examples/cheapest-node.ts'))}`,
        '    weight: 5',
        '    args: { costLabel: price }',
      ].join('\n'),
    );
    const loaded = loadProfile(file);
    const c = new FakeCluster();
    c.addNode('dear', { labels: { price: '9' } });
    c.addNode('cheap', { labels: { price: '1' } });
    c.addNode('closed', { labels: { price: '0', 'example.cell.dev/maintenance': 'true' } });
    await c.load(loaded);
    expect(c.decide(pod('p')).node).to.equal('cheap');
  });
});

