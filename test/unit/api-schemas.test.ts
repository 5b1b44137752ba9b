import { expect } from 'chai';
import { ConditionSchema, formatMicroTime, formatTime, StatusSchema, TableSchema, watchEventSchemaOf } from '../../shared/api/meta.js';
import { NodeSchema, PodSchema, QuantitySchema, type Pod } from '../../shared/api/core.js';
import {
  bindingKind,
  groupVersions,
  podsResource,
  RESOURCES,
  resolveResource,
  resourceFor,
  resourceForKind,
  resourcesIn,
  resourcesInCategory,
  type KindInfo,
} from '../../shared/api/registry.js';
import { validateObject } from '../../shared/api/validation.js';

/** The smallest valid object of each kind a client could send. */
const MINIMAL: Record<string, unknown> = {
  Namespace: { metadata: { name: 'team-a' } },
  Node: { metadata: { name: 'node-1' } },
  Pod: { metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
  Event: { metadata: { name: 'web.17a', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' } },
  Lease: { metadata: { name: 'node-1', namespace: 'kube-node-lease' } },
  ConfigMap: { metadata: { name: 'settings', namespace: 'default' }, data: { mode: 'fast' } },
  Secret: { metadata: { name: 'creds', namespace: 'default' }, stringData: { password: 'hunter2' } },
  ServiceAccount: { metadata: { name: 'ci', namespace: 'default' } },
  Service: { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
  EndpointSlice: { metadata: { name: 'web-x1', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.5'] }], ports: [{ port: 8080 }] },
  Endpoints: { metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '10.0.0.5' }], ports: [{ port: 8080 }] }] },
  Ingress: { metadata: { name: 'web', namespace: 'default' }, spec: { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } },
  IngressClass: { metadata: { name: 'cell' }, spec: { controller: 'cell.dev/ingress-proxy' } },
  CustomResourceDefinition: {
    metadata: { name: 'widgets.example.com' },
    spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] },
  },
  LimitRange: { metadata: { name: 'bounds', namespace: 'default' }, spec: { limits: [{ type: 'Container', max: { cpu: '2' } }] } },
  TokenReview: { spec: { token: 'a.b.c' } },
  PriorityClass: { metadata: { name: 'high' }, value: 1000 },
  CronJob: {
    metadata: { name: 'nightly', namespace: 'default' },
    spec: { schedule: '0 2 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } },
  },
  PodGroup: { metadata: { name: 'gang', namespace: 'default' }, spec: { minMember: 3 } },
  NodeAllocation: { metadata: { name: 'node-1' } },
  Placement: { spec: { bindings: [{ podName: 'web', nodeName: 'node-1' }] } },
  Binding: { metadata: { name: 'web', namespace: 'default' }, target: { kind: 'Node', name: 'node-1' } },
  Role: { metadata: { name: 'pod-reader', namespace: 'default' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
  ClusterRole: { metadata: { name: 'system:pod-reader' }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] },
  RoleBinding: { metadata: { name: 'read', namespace: 'default' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' } },
  ClusterRoleBinding: { metadata: { name: 'read' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' } },
  SelfSubjectAccessReview: { spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } },
  SelfSubjectRulesReview: { spec: { namespace: 'default' } },
  SubjectAccessReview: { spec: { user: 'alice', nonResourceAttributes: { verb: 'get', path: '/api' } } },
  SelfSubjectReview: {},
  PodDisruptionBudget: { metadata: { name: 'web', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } },
  Job: { metadata: { name: 'pi', namespace: 'default' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'busybox' }] } } } },
  Deployment: { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } } } },
  ResourceQuota: { metadata: { name: 'compute', namespace: 'default' }, spec: { hard: { pods: '10', 'requests.cpu': '4' } } },
  ReplicaSet: { metadata: { name: 'web-1', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } } } },
  StatefulSet: { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'busybox' }] } } } },
  HorizontalPodAutoscaler: { metadata: { name: 'web', namespace: 'default' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 3 } },
  DaemonSet: { metadata: { name: 'logs', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'logs' } }, template: { metadata: { labels: { app: 'logs' } }, spec: { containers: [{ name: 'logs', image: 'busybox' }] } } } },
  ControllerRevision: { metadata: { name: 'logs-5d8f9c7b6', namespace: 'default' }, data: { spec: { template: { $patch: 'replace' } } }, revision: 1 },
  ResourceFlavor: { metadata: { name: 'default-flavor' } },
  ClusterQueue: { metadata: { name: 'cluster-queue' }, spec: { namespaceSelector: {}, resourceGroups: [{ coveredResources: ['cpu'], flavors: [{ name: 'default-flavor', resources: [{ name: 'cpu', nominalQuota: 9 }] }] }] } },
  LocalQueue: { metadata: { name: 'user-queue', namespace: 'default' }, spec: { clusterQueue: 'cluster-queue' } },
  Workload: { metadata: { name: 'job-pi', namespace: 'default' }, spec: { queueName: 'user-queue', podSets: [{ count: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'busybox' }] } } }] } },
};

/** What `kubectl get pod -o json` prints for a pod from a real cluster (trimmed), with the null Go clients send. */
function kubectlPod(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d4b9c-x2x9k',
      generateName: 'web-7d4b9c-',
      namespace: 'default',
      uid: '0b6f7a9e-2b8e-4f44-9d2a-0c1f5c8f3e11',
      resourceVersion: '4812',
      creationTimestamp: '2024-05-01T10:00:00Z',
      deletionTimestamp: null,
      labels: { app: 'web', 'pod-template-hash': '7d4b9c', 'app.kubernetes.io/name': 'web' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-01T09:59:00Z' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'f00d', controller: true, blockOwnerDeletion: true },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2024-05-01T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'nginx:1.25',
          imagePullPolicy: 'IfNotPresent',
          command: ['nginx'],
          args: ['-g', 'daemon off;'],
          env: [{ name: 'MODE', value: 'prod' }],
          ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
          resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets', readOnly: true }],
        },
      ],
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      nodeName: 'node-1',
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      volumes: [{ name: 'kube-api-access', projected: { sources: [] } }],
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-05-01T10:00:00Z' },
        { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-05-01T10:00:02Z' },
      ],
      hostIP: '10.0.0.5',
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }],
      startTime: '2024-05-01T10:00:00Z',
      qosClass: 'Burstable',
      containerStatuses: [
        {
          name: 'app',
          ready: true,
          restartCount: 0,
          started: true,
          image: 'nginx:1.25',
          imageID: 'docker.io/library/nginx@sha256:abc',
          containerID: 'containerd://123',
          state: { running: { startedAt: '2024-05-01T10:00:01Z' } },
          lastState: {},
        },
      ],
    },
  };
}

describe('api schemas', () => {
  describe('defaulting', () => {
    it('fills Kubernetes pod defaults a client leaves out', () => {
      const pod = validateObject(podsResource, {
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 8080 }] }],
          tolerations: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
        },
      });
      expect(pod.apiVersion).to.equal('v1');
      expect(pod.kind).to.equal('Pod');
      expect(pod.spec.restartPolicy).to.equal('Always');
      expect(pod.spec.schedulerName).to.equal('default-scheduler');
      expect(pod.spec.terminationGracePeriodSeconds).to.equal(30);
      expect(pod.spec.containers[0]?.ports?.[0]?.protocol).to.equal('TCP');
      expect(pod.spec.containers[0]?.resources).to.deep.equal({});
      expect(pod.spec.tolerations?.[0]?.operator).to.equal('Equal');
      expect(pod.status).to.deep.equal({});
      expect(pod.spec.nodeName).to.equal(undefined);
    });

    it('keeps values the client did set', () => {
      const pod = PodSchema.parse({
        metadata: { name: 'job' },
        spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never', schedulerName: 'batch', terminationGracePeriodSeconds: 5 },
      });
      expect(pod.spec.restartPolicy).to.equal('Never');
      expect(pod.spec.schedulerName).to.equal('batch');
      expect(pod.spec.terminationGracePeriodSeconds).to.equal(5);
    });

    it('defaults each missing request to its limit', () => {
      const pod = PodSchema.parse({
        spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } } }] },
      });
      expect(pod.spec.containers[0]?.resources.requests).to.deep.equal({ cpu: '500m', memory: '1Gi' });
    });

    it('defaults hostPort to containerPort with hostNetwork', () => {
      const pod = PodSchema.parse({
        spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 9100 }] }] },
      });
      expect(pod.spec.containers[0]?.ports?.[0]?.hostPort).to.equal(9100);
    });

    it('defaults node allocatable to capacity, and namespace phase to Active', () => {
      const node = NodeSchema.parse({ metadata: { name: 'n' }, status: { capacity: { cpu: '4', memory: '8Gi', pods: 110 } } });
      expect(node.status.allocatable).to.deep.equal({ cpu: '4', memory: '8Gi', pods: '110' });
      const ns = validateObject(RESOURCES[0] as KindInfo, { metadata: { name: 'team-a' } });
      expect(ns).to.have.nested.property('status.phase', 'Active');
    });

    it('defaults placement mode and binding namespace, leaves PodGroup timeout unset', () => {
      const pl = validateObject(resourceForKind('Placement') as KindInfo, MINIMAL['Placement']);
      expect(pl).to.have.nested.property('spec.mode', 'Incremental');
      expect(pl).to.have.nested.property('spec.bindings[0].podNamespace', 'default');
      expect(pl).to.not.have.nested.property('spec.conflictMode');
      const pg = validateObject(resourceForKind('PodGroup') as KindInfo, MINIMAL['PodGroup']);
      expect(pg).to.not.have.nested.property('spec.scheduleTimeoutSeconds');
    });
  });

  describe('quantities', () => {
    it('are stored in canonical form', () => {
      expect(QuantitySchema.parse('0.5')).to.equal('500m');
      expect(QuantitySchema.parse('1024Mi')).to.equal('1Gi');
      expect(QuantitySchema.parse(2)).to.equal('2');
      expect(QuantitySchema.parse('1000m')).to.equal('1');
    });

    it('reject garbage', () => {
      expect(QuantitySchema.safeParse('lots').success).to.equal(false);
      expect(QuantitySchema.safeParse(true).success).to.equal(false);
    });
  });

  describe('kubectl round trip', () => {
    it('keeps every modelled field, managedFields and ownerReferences included', () => {
      const raw = kubectlPod();
      const pod: Pod = validateObject(podsResource, raw);
      const again = validateObject(podsResource, JSON.parse(JSON.stringify(pod)));
      expect(again).to.deep.equal(pod);
      const meta = raw['metadata'] as Record<string, unknown>;
      expect(pod.metadata.ownerReferences).to.deep.equal(meta['ownerReferences']);
      expect(pod.metadata.managedFields).to.deep.equal(meta['managedFields']);
      expect(pod.metadata).to.not.have.property('deletionTimestamp');
      expect(pod.spec.containers[0]?.resources.limits).to.deep.equal({ cpu: '500m', memory: '128Mi' });
      expect(pod.spec.tolerations?.[0]).to.deep.equal({
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      });
      expect(pod.status.containerStatuses?.[0]?.state?.running?.startedAt).to.equal('2024-05-01T10:00:01Z');
      expect(pod.status.conditions?.map((c) => c.type)).to.deep.equal(['PodScheduled', 'Ready']);
    });

    it('drops fields cell does not model', () => {
      const pod = validateObject(podsResource, kubectlPod());
      expect(pod.spec).to.not.have.property('volumes');
      expect(pod.spec).to.not.have.property('dnsPolicy');
      expect(pod.spec.containers[0]).to.not.have.property('volumeMounts');
    });

    it('accepts what `kubectl run --dry-run=client -o json` sends', () => {
      const pod = validateObject(podsResource, {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: 'nginx', creationTimestamp: null, labels: { run: 'nginx' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }], dnsPolicy: 'ClusterFirst', restartPolicy: 'Always' },
        status: {},
      });
      expect(pod.metadata.labels).to.deep.equal({ run: 'nginx' });
    });
  });

  describe('every kind', () => {
    const kinds: KindInfo[] = [...RESOURCES, bindingKind];
    for (const info of kinds) {
      it(`${info.kind} accepts a minimal valid object and fills apiVersion/kind`, () => {
        const obj = validateObject(info, MINIMAL[info.kind]);
        expect(obj.apiVersion).to.equal(info.apiVersion);
        expect(obj.kind).to.equal(info.kind);
      });
    }

    for (const info of RESOURCES) {
      it(`${info.resource}: fieldsOf covers exactly the allowed field selectors, and fieldValue reads each as fieldsOf does`, () => {
        const obj = validateObject(info, MINIMAL[info.kind]);
        const fields = info.fieldsOf(obj);
        expect(Object.keys(fields).sort()).to.deep.equal([...info.fieldSelectors].sort());
        for (const f of info.fieldSelectors) expect(info.fieldValue(obj, f), f).to.equal(fields[f]);
        expect(info.fieldValue(obj, 'no.such.field')).to.equal('');
        expect(info.fieldValue(obj, 'constructor')).to.equal('');
      });
    }
  });

  describe('registry', () => {
    it('resolves what a user types', () => {
      expect(resolveResource('po')?.resource).to.equal('pods');
      expect(resolveResource('pod')?.resource).to.equal('pods');
      expect(resolveResource('Pods')?.resource).to.equal('pods');
      expect(resolveResource('no')?.resource).to.equal('nodes');
      expect(resolveResource('ns')?.resource).to.equal('namespaces');
      expect(resolveResource('ev')?.resource).to.equal('events');
      expect(resolveResource('pg')?.resource).to.equal('podgroups');
      expect(resolveResource('pgs')?.resource).to.equal('podgroups');
      expect(resolveResource('PodGroup')?.resource).to.equal('podgroups');
      expect(resolveResource('podgroups.scheduling.x-k8s.io')?.kind).to.equal('PodGroup');
      expect(resolveResource('leases.v1.coordination.k8s.io')?.kind).to.equal('Lease');
      expect(resolveResource('pods.v1')?.kind).to.equal('Pod');
      expect(resolveResource('nodeallocations')?.kind).to.equal('NodeAllocation');
      expect(resolveResource('pods.apps')).to.equal(undefined);
      expect(resolveResource('deploy')?.kind).to.equal('Deployment');
      expect(resolveResource('sts')?.kind).to.equal('StatefulSet');
      expect(resolveResource('hpa')?.apiVersion).to.equal('autoscaling/v2');
      expect(resolveResource('svc')?.kind).to.equal('Service');
      expect(resolveResource('ep')?.kind).to.equal('Endpoints');
      expect(resolveResource('endpoints')?.kind).to.equal('Endpoints');
      expect(resolveResource('ing')?.kind).to.equal('Ingress');
      expect(resolveResource('networkpolicies')).to.equal(undefined);
    });

    it('finds resources by group/version/resource and by kind', () => {
      expect(resourceFor('', 'v1', 'pods')?.kind).to.equal('Pod');
      expect(resourceFor('scheduling.cell.dev', 'v1alpha1', 'placements')?.verbs).to.deep.equal(['create']);
      expect(resourceFor('', 'v1', 'podgroups')).to.equal(undefined);
      expect(resourceForKind('Lease')?.apiVersion).to.equal('coordination.k8s.io/v1');
      expect(resourceForKind('Lease', 'v1')).to.equal(undefined);
    });

    it('describes discovery: group versions, verbs, subresources, categories', () => {
      expect(groupVersions().map((gv) => gv.groupVersion)).to.deep.equal([
        'v1',
        'coordination.k8s.io/v1',
        'scheduling.x-k8s.io/v1alpha1',
        'scheduling.cell.dev/v1alpha1',
        'rbac.authorization.k8s.io/v1',
        'authorization.k8s.io/v1',
        'authentication.k8s.io/v1',
        'policy/v1',
        'scheduling.k8s.io/v1',
        'batch/v1',
        'apps/v1',
        'discovery.k8s.io/v1',
        'networking.k8s.io/v1',
        'apiextensions.k8s.io/v1',
        'autoscaling/v2',
        'kueue.x-k8s.io/v1beta1',
      ]);
      expect(resourcesIn('', 'v1').map((r) => r.resource)).to.deep.equal(['namespaces', 'nodes', 'pods', 'events', 'services', 'endpoints', 'configmaps', 'secrets', 'serviceaccounts', 'limitranges', 'resourcequotas']);
      expect(podsResource.subresources.map((s) => s.name)).to.deep.equal(['binding', 'status', 'log', 'ephemeralcontainers', 'exec', 'attach', 'portforward', 'eviction']);
      expect(resourceForKind('NodeAllocation')?.verbs).to.deep.equal(['get', 'list', 'watch']);
      expect(resourcesInCategory('all').map((r) => r.resource)).to.deep.equal(['pods', 'services', 'jobs', 'cronjobs', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'horizontalpodautoscalers']);
      // Endpoints' singular is its plural, as in Kubernetes.
      const names = RESOURCES.flatMap((r) => [...new Set([r.resource, r.singularName, ...r.shortNames])]);
      expect(new Set(names).size, 'names and short names are unambiguous').to.equal(names.length);
    });

    it('gives a pod field set for field selectors', () => {
      const pod = validateObject(podsResource, kubectlPod());
      expect(podsResource.fieldsOf(pod)).to.include({
        'metadata.name': 'web-7d4b9c-x2x9k',
        'metadata.namespace': 'default',
        'spec.nodeName': 'node-1',
        'spec.schedulerName': 'default-scheduler',
        'status.phase': 'Running',
        'spec.hostNetwork': 'false',
      });
    });
  });

  describe('meta shapes', () => {
    it('parse Status, Table and watch events', () => {
      const status = StatusSchema.parse({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: 'Pod "web" is invalid: spec.containers: Required value',
        reason: 'Invalid',
        details: { name: 'web', kind: 'Pod', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }] },
        code: 422,
      });
      expect(status.metadata).to.deep.equal({});
      const table = TableSchema.parse({
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        columnDefinitions: [{ name: 'Name', type: 'string', format: 'name', description: '', priority: 0 }],
        rows: [{ cells: ['web'], object: { kind: 'PartialObjectMetadata' } }],
      });
      expect(table.rows[0]?.cells).to.deep.equal(['web']);
      const event = watchEventSchemaOf(PodSchema).parse({ type: 'ADDED', object: MINIMAL['Pod'] });
      expect(event.object.spec.schedulerName).to.equal('default-scheduler');
      expect(watchEventSchemaOf(PodSchema).safeParse({ type: 'CHANGED', object: MINIMAL['Pod'] }).success).to.equal(false);
      expect(ConditionSchema.safeParse({ type: 'Ready', status: 'Maybe' }).success).to.equal(false);
    });

    it('formats Time with seconds and MicroTime with six fraction digits', () => {
      const at = new Date('2024-05-01T10:00:00.123Z');
      expect(formatTime(at)).to.equal('2024-05-01T10:00:00Z');
      expect(formatMicroTime(at)).to.equal('2024-05-01T10:00:00.123000Z');
      // formatTime remembers the last second it wrote: each call still gets its own instant's.
      const seen = ['10:00:00.999', '10:00:01.000', '10:00:01.500', '09:59:59.999', '10:00:01.001', '1969-12-31T23:59:59.500'].map((t) =>
        formatTime(new Date(t.includes('T') ? `${t}Z` : `2024-05-01T${t}Z`)),
      );
      expect(seen).to.deep.equal(['2024-05-01T10:00:00Z', '2024-05-01T10:00:01Z', '2024-05-01T10:00:01Z', '2024-05-01T09:59:59Z', '2024-05-01T10:00:01Z', '1969-12-31T23:59:59Z']);
    });
  });
});
