import { switchPortOf, type BlockingSwitch, type KillSwitchPort, type SwitchName, type SwitchScope } from '../../kernel/switches.ts';
import { switchKey, type FlagSnapshot } from './flag-cache.ts';

/**
 * The kernel's kill-switch port implemented from this node's in-memory snapshot (no database round
 * trip), which NOTIFY keeps current within milliseconds and a timer within the TTL. A snapshot
 * older than a few TTLs (the database unreachable) cannot confirm anything: the check then fails
 * closed.
 */
export class KillSwitches implements KillSwitchPort {
  readonly #staleLimitMs: number;
  readonly #port = switchPortOf((name, scope) => this.find(name, scope));

  constructor(private readonly source: { snapshot(): FlagSnapshot; readonly ttlMs: number }) {
    this.#staleLimitMs = Math.max(3 * source.ttlMs, 10_000);
  }

  /** The tripped switch that stops this action, or null when it may run. */
  find(name: SwitchName, scope: SwitchScope = {}, now = Date.now()): BlockingSwitch | null {
    const snapshot = this.source.snapshot();
    if (now - snapshot.loadedAt > this.#staleLimitMs) return { name, scope: 'unconfirmed', channel: null };
    const candidates = [
      ...(snapshot.switchIndex.get(switchKey(name, null)) ?? []),
      ...(scope.tenantId ? (snapshot.switchIndex.get(switchKey(name, scope.tenantId)) ?? []) : []),
    ];
    // A switch without a channel covers every channel; a channel's switch only that channel.
    const blocking = candidates.find((s) => s.channel === null) ?? candidates.find((s) => s.channel === (scope.channel ?? null));
    return blocking ? { name, scope: blocking.tenantId === null ? 'global' : 'tenant', channel: blocking.channel } : null;
  }

  isOpen(name: SwitchName, scope: SwitchScope = {}): boolean {
    return this.#port.isOpen(name, scope);
  }

  assertOpen(name: SwitchName, scope: SwitchScope = {}): void {
    this.#port.assertOpen(name, scope);
  }
}
