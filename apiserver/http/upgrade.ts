// Requests that ask to switch protocols (kubectl exec's WebSocket) take the same way as every other
// request (pipeline.ts: authentication, authorization, the resource router) on a response object
// bound to their socket. A handler that serves the upgrade takes the socket over (`hijack`); any
// other answer — an error Status, or an ordinary response to a client that merely offered to
// upgrade — is written as usual and the connection closed after it.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../shared/logging.js';

export interface Upgrade {
  socket: Duplex;
  /** Bytes the client sent after its headers. */
  head: Buffer;
  /** The handler keeps the socket: it is no longer closed when the response ends. */
  hijack(): void;
}

const upgrades = new WeakMap<http.IncomingMessage, Upgrade>();

/** The upgrade `req` asked for, when it came by the server's `upgrade` event. */
export function upgradeOf(req: http.IncomingMessage): Upgrade | undefined {
  return upgrades.get(req);
}

/**
 * Routes the server's upgrade requests into `handle`. Returns the sockets it has open (hijacked
 * ones included), for the server to end at shutdown.
 */
export function serveUpgrades(server: http.Server, handle: (req: http.IncomingMessage, res: http.ServerResponse) => void, log: Logger): Set<Duplex> {
  const open = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A peer resetting the connection must not take the server down.
    socket.on('error', (err) => log.debug('upgrade connection failed', { url: req.url, error: err.message }));
    let hijacked = false;
    upgrades.set(req, { socket, head, hijack: () => (hijacked = true) });
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      if (!hijacked) socket.end();
    });
    // Its 'close' frees the request's in-flight slot and deadline. Node emits it while the socket
    // is assigned; once detached (answered, or handed over), it is emitted here when the socket goes.
    let closed = false;
    res.once('close', () => (closed = true));
    socket.once('close', () => {
      if (!closed) res.emit('close');
    });
    handle(req, res);
  });
  return open;
}
