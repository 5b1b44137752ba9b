// Keys every API server replica must share (what agents trust, what service account tokens are
// signed with): the first server to start makes one and stores it create-if-absent, so racing
// replicas keep one; the others read it. Stored beside the resources but outside every resource
// prefix, so no API request, watch or list ever returns it.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { AlreadyExistsError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { Store } from '../storage/store.js';

const StoredKeySchema = z.object({ kid: z.string().min(1), privateKeyPem: z.string().min(1), createdAt: z.string() });
export type StoredClusterKey = z.infer<typeof StoredKeySchema>;

/** Names a key by its public half (base64url of a SHA-256 prefix), so every replica derives the same id. */
export function keyId(privatePem: string): string {
  const der = createPublicKey(privatePem).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('base64url').slice(0, 22);
}

/** The key stored at `storageKey`, made by `generate` and stored first when there is none. */
export async function loadClusterKey(store: Store, storageKey: string, generate: () => KeyObject, log: Logger, what: string): Promise<StoredClusterKey> {
  const existing = await store.get(storageKey);
  if (existing) return StoredKeySchema.parse(JSON.parse(existing.value));
  const privateKeyPem = generate().export({ format: 'pem', type: 'pkcs8' }).toString();
  const made: StoredClusterKey = { kid: keyId(privateKeyPem), privateKeyPem, createdAt: new Date().toISOString() };
  try {
    await store.create(storageKey, JSON.stringify(made));
    log.info(`made the cluster key for ${what}`, { kid: made.kid });
    return made;
  } catch (err) {
    // Another replica stored one first: that one is the cluster's.
    if (!(err instanceof AlreadyExistsError)) throw err;
    const winner = await store.get(storageKey);
    if (!winner) throw err;
    return StoredKeySchema.parse(JSON.parse(winner.value));
  }
}
