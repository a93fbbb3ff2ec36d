/** Why user code did not finish: it threw, did not compile, or hit the time or memory limit. */
export class SandboxError extends Error {
  constructor(readonly kind: 'throw' | 'timeout' | 'memory' | 'syntax', message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}
