import { expect } from 'chai';
import { BadRequestError, NotFoundError } from '../../shared/errors.js';
import { classifyPath, type PathClass } from '../../apiserver/http/paths.js';

const nonResource = (access: 'public' | 'handler' | 'nonResourceURL'): PathClass => ({ kind: 'nonResource', access });

/** The error a malformed resource URL is answered with (fails the test for any other class). */
function malformed(path: string): unknown {
  const c = classifyPath(path);
  if (c.kind !== 'malformedResource') throw new Error(`${path} classified as ${c.kind}, not malformedResource`);
  return c.error;
}

describe('classifyPath', () => {
  it('sends the dashboard its files, and nothing else', () => {
    for (const p of ['/ui', '/ui/', '/ui/pods/default/web', '/ui/assets/app-1.js', '/ui/../api/v1/pods']) {
      expect(classifyPath(p), p).to.deep.equal({ kind: 'dashboard' });
    }
    expect(classifyPath('/uix')).to.deep.equal(nonResource('nonResourceURL'));
  });

  it('makes exactly health and version public', () => {
    for (const p of ['/livez', '/readyz', '/healthz', '/version']) expect(classifyPath(p), p).to.deep.equal(nonResource('public'));
    // Other spellings are not the public paths: they are authenticated and authorized like any other.
    for (const p of ['/healthz/', '/version/', '/readyz/x', '/VERSION']) expect(classifyPath(p), p).to.deep.equal(nonResource('nonResourceURL'));
  });

  it('leaves /audit to its handler, which authorizes a resource read', () => {
    expect(classifyPath('/audit')).to.deep.equal(nonResource('handler'));
    expect(classifyPath('/audit/')).to.deep.equal(nonResource('nonResourceURL'));
  });

  it('classifies discovery, OpenAPI, metrics and unknown paths as non-resource URLs', () => {
    const paths = ['/', '/api', '/api/', '/api/v1', '/api/v1/', '/apis', '/apis/', '/apis/apps', '/apis/apps/v1', '/apis/apps/v1/', '/openapi/v2', '/openapi/v3/apis/apps/v1', '/metrics', '/nope', '//api/v1/pods'];
    for (const p of paths) expect(classifyPath(p), p).to.deep.equal(nonResource('nonResourceURL'));
  });

  it('parses resource URLs of the core group and of named groups', () => {
    expect(classifyPath('/api/v1/pods')).to.deep.equal({ kind: 'resource', path: { group: '', version: 'v1', resource: 'pods' } });
    expect(classifyPath('/api/v1/pods/')).to.deep.equal({ kind: 'resource', path: { group: '', version: 'v1', resource: 'pods' } });
    expect(classifyPath('/api/v1/nodes/n1/status')).to.deep.equal({
      kind: 'resource',
      path: { group: '', version: 'v1', resource: 'nodes', name: 'n1', subresource: 'status' },
    });
    expect(classifyPath('/api/v1/namespaces/default/pods/web/binding')).to.deep.equal({
      kind: 'resource',
      path: { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web', subresource: 'binding' },
    });
    expect(classifyPath('/apis/apps/v1/namespaces/team/deployments/web/scale')).to.deep.equal({
      kind: 'resource',
      path: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'team', name: 'web', subresource: 'scale' },
    });
    expect(classifyPath('/apis/scheduling.cell.dev/v1alpha1/placements')).to.deep.equal({
      kind: 'resource',
      path: { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'placements' },
    });
  });

  it('tells a namespace object and its subresources from the resources in a namespace', () => {
    expect(classifyPath('/api/v1/namespaces/team')).to.deep.equal({ kind: 'resource', path: { group: '', version: 'v1', resource: 'namespaces', name: 'team' } });
    for (const sub of ['status', 'finalize']) {
      expect(classifyPath(`/api/v1/namespaces/team/${sub}`)).to.deep.equal({
        kind: 'resource',
        path: { group: '', version: 'v1', resource: 'namespaces', name: 'team', subresource: sub },
      });
    }
    expect(classifyPath('/api/v1/namespaces/team/pods')).to.deep.equal({ kind: 'resource', path: { group: '', version: 'v1', resource: 'pods', namespace: 'team' } });
  });

  it('decodes escaped segments', () => {
    expect(classifyPath('/api/v1/namespaces/a%2Db/pods/x%3Ay')).to.deep.equal({
      kind: 'resource',
      path: { group: '', version: 'v1', resource: 'pods', namespace: 'a-b', name: 'x:y' },
    });
  });

  it('refuses segments that would address another scope than the one named, instead of resolving them', () => {
    for (const p of ['/api/v1/namespaces/%2e%2e/pods', '/api/v1/namespaces/../pods', '/api/v1/namespaces/./pods', '/api/v1/pods/a%2Fb', '/api/v1/pods/a%00', '/api/v1//pods', '/api/v1/pods//']) {
      expect(malformed(p), p).to.be.instanceOf(NotFoundError);
    }
    expect(malformed('/api/v1/namespaces/%zz/pods')).to.be.instanceOf(BadRequestError);
  });

  it('refuses resource URLs deeper than any resource, subresource included', () => {
    expect(malformed('/api/v1/nodes/n1/status/x')).to.be.instanceOf(NotFoundError);
    expect(malformed('/api/v1/namespaces/ns/pods/p/status/x')).to.be.instanceOf(NotFoundError);
    expect(malformed('/apis/apps/v1/namespaces/ns/deployments/d/scale/x')).to.be.instanceOf(NotFoundError);
  });
});
