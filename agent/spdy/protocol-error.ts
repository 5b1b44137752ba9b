// A peer broke the SPDY protocol (a malformed frame or header block): its session is ended.
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}
