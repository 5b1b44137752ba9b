// ResourceQuota's REST strategy, as Kubernetes': status is the API server's and the quota
// controller's to write. A new quota starts with no status, so nothing it governs is admitted
// until the controller has counted the namespace ("status unknown for quota").
import type { KubeObject } from '../registry/object.js';
import type { Strategy } from '../registry/strategy.js';

export const resourceQuotaStrategy: Strategy = {
  prepareForCreate(obj: KubeObject) {
    obj.status = {};
  },
};
