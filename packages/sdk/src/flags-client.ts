/**
 * Feature flags for managed applications (FR-FLAG-002): keeps a local copy of one tenant's flags
 * and kill switches, current through the server's event stream, and falls back to polling with
 * ETags where streams cannot be read (React Native's fetch, a proxy that buffers) or while the
 * stream is down. Reads are synchronous and answer from the local copy, also offline; a `store`
 * keeps the copy across restarts.
 *
 *   const flags = new FlagsClient({ baseUrl: 'https://api.example.com', apiKey, tenant });
 *   await flags.start();
 *   if (flags.isEnabled('new-dashboard')) …
 *   flags.subscribe(() => rerender());
 *
 * Server contract: `GET /v1/apps/flags?tenant=…` (ETag, If-None-Match → 304) and
 * `GET /v1/apps/flags/stream?tenant=…` (text/event-stream; `flags` events whose id is the ETag;
 * a comment every 15 s), both with the key as `Authorization: Bearer`.
 */
export type FlagValue = boolean | string;

export interface AffectingSwitch {
  name: string;
  scope: 'global' | 'tenant';
  channel: string | null;
}

export interface FlagsDocument {
  tenant_id: string;
  flags: Record<string, FlagValue>;
  switches: AffectingSwitch[];
}

/** Where the last copy is kept between runs (localStorage, AsyncStorage, a file). */
export interface FlagStore {
  get(key: string): string | null | Promise<string | null>;
  set(key: string, value: string): void | Promise<void>;
}

export interface FlagsClientOptions {
  /** The API's origin, e.g. https://api.example.com. */
  baseUrl: string;
  /** An application key with the scope flags:read for this tenant. */
  apiKey: string;
  tenant: string;
  fetch?: typeof fetch;
  store?: FlagStore;
  /** Use the event stream when the runtime can read one (default true). */
  stream?: boolean;
  /** Polling interval while there is no stream (default 30 s). */
  pollIntervalMs?: number;
  /** A stream silent for this long is taken as dead and reopened (default 45 s: three heartbeats). */
  streamIdleMs?: number;
  onError?: (error: unknown) => void;
}

export type FlagsClientMode = 'stopped' | 'streaming' | 'polling';

export class FlagsHttpError extends Error {
  constructor(readonly status: number) {
    super(`flags request failed with HTTP ${status}`);
  }
}

/** The server or something between cannot stream: poll from now on. */
class StreamUnsupported extends Error {}

interface Stored {
  etag: string;
  document: FlagsDocument;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export class FlagsClient {
  readonly #options: Required<Omit<FlagsClientOptions, 'store' | 'onError' | 'fetch'>> & Pick<FlagsClientOptions, 'store' | 'onError'>;
  readonly #fetch: typeof fetch;
  readonly #listeners = new Set<(document: FlagsDocument) => void>();
  #document: FlagsDocument | null = null;
  #etag: string | null = null;
  #mode: FlagsClientMode = 'stopped';
  #stopper: AbortController | null = null;

  constructor(options: FlagsClientOptions) {
    this.#options = {
      stream: true,
      pollIntervalMs: 30_000,
      streamIdleMs: 45_000,
      ...options,
      baseUrl: options.baseUrl.replace(/\/$/, ''),
    };
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  get document(): FlagsDocument | null {
    return this.#document;
  }

  get etag(): string | null {
    return this.#etag;
  }

  get mode(): FlagsClientMode {
    return this.#mode;
  }

  /** A boolean flag; `fallback` before anything is known or for a flag that does not exist. */
  isEnabled(key: string, fallback = false): boolean {
    const value = this.#document?.flags[key];
    return typeof value === 'boolean' ? value : fallback;
  }

  /** A variant flag's variant; `fallback` before anything is known or for a flag that does not exist. */
  variant(key: string, fallback: string): string {
    const value = this.#document?.flags[key];
    return typeof value === 'string' ? value : fallback;
  }

  /** Whether a kill switch stops `name` (for messaging, optionally one channel) for this tenant. */
  isSwitchedOff(name: string, channel?: string): boolean {
    return (this.#document?.switches ?? []).some((s) => s.name === name && (s.channel === null || s.channel === channel));
  }

  /** Calls listener with each new document; returns the unsubscribe function. */
  subscribe(listener: (document: FlagsDocument) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * Loads the stored copy, asks the server once (its failure is reported, not thrown, when a stored
   * copy exists: offline start), then keeps the copy current in the background until stop().
   */
  async start(): Promise<void> {
    if (this.#stopper) return;
    const stopper = new AbortController();
    this.#stopper = stopper;
    await this.#restore();
    try {
      await this.refresh();
    } catch (error) {
      if (!this.#document) {
        this.stop();
        throw error;
      }
      this.#report(error);
    }
    void this.#run(stopper.signal);
  }

  stop(): void {
    this.#stopper?.abort();
    this.#stopper = null;
    this.#mode = 'stopped';
  }

  /** One conditional request; true when the flags changed. */
  async refresh(signal?: AbortSignal): Promise<boolean> {
    const response = await this.#fetch(this.#url('/v1/apps/flags'), {
      headers: { ...this.#auth(), ...(this.#etag ? { 'if-none-match': this.#etag } : {}) },
      ...(signal ? { signal } : {}),
    });
    if (response.status === 304) return false;
    if (!response.ok) throw new FlagsHttpError(response.status);
    const etag = response.headers.get('etag');
    const document = (await response.json()) as FlagsDocument;
    return this.#apply(document, etag);
  }

  async #run(signal: AbortSignal): Promise<void> {
    let streaming = this.#options.stream;
    let failures = 0;
    while (!signal.aborted) {
      if (streaming) {
        try {
          await this.#stream(signal);
          failures = 0;
        } catch (error) {
          if (signal.aborted) break;
          if (error instanceof StreamUnsupported) streaming = false;
          else failures++;
          this.#report(error);
        }
        if (signal.aborted) break;
        // Between streams: catch up by polling, then reconnect after a growing pause.
        this.#mode = 'polling';
        await this.refresh(signal).catch((error) => signal.aborted || this.#report(error));
        if (streaming) await sleep(Math.min(1_000 * 2 ** Math.min(failures, 10), this.#options.pollIntervalMs), signal);
      } else {
        this.#mode = 'polling';
        await sleep(this.#options.pollIntervalMs, signal);
        if (!signal.aborted) await this.refresh(signal).catch((error) => signal.aborted || this.#report(error));
      }
    }
  }

  /** Reads the event stream until it ends; throws StreamUnsupported when it cannot be read. */
  async #stream(stopped: AbortSignal): Promise<void> {
    const connection = new AbortController();
    const abort = () => connection.abort();
    stopped.addEventListener('abort', abort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(abort, this.#options.streamIdleMs);
    };
    try {
      alive();
      const response = await this.#fetch(this.#url('/v1/apps/flags/stream'), {
        headers: { ...this.#auth(), accept: 'text/event-stream', ...(this.#etag ? { 'last-event-id': this.#etag } : {}) },
        signal: connection.signal,
      });
      const reader = response.body && typeof response.body.getReader === 'function' ? response.body.getReader() : null;
      const isStream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
      if (response.ok && (!reader || !isStream)) throw new StreamUnsupported('the response cannot be read as a stream');
      if ([404, 405, 406, 501].includes(response.status)) throw new StreamUnsupported(`the stream answered HTTP ${response.status}`);
      if (!response.ok) throw new FlagsHttpError(response.status);
      this.#mode = 'streaming';
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader!.read();
        if (done) return;
        alive();
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          this.#event(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      // Ended by the idle timer: reconnect like any broken stream.
      if (connection.signal.aborted && !stopped.aborted) throw new Error('the flag stream went silent');
      throw error;
    } finally {
      clearTimeout(idle);
      stopped.removeEventListener('abort', abort);
      connection.abort();
    }
  }

  /** One server-sent event block: `event`, `id` and `data` lines; comments (heartbeats) skipped. */
  #event(block: string) {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (event !== 'flags' || data.length === 0) return;
    try {
      this.#apply(JSON.parse(data.join('\n')) as FlagsDocument, id);
    } catch (error) {
      this.#report(error);
    }
  }

  #apply(document: FlagsDocument, etag: string | null): boolean {
    if (etag !== null && etag === this.#etag) return false;
    this.#document = document;
    this.#etag = etag;
    const store = this.#options.store;
    if (store && etag) {
      Promise.resolve(store.set(this.#storeKey(), JSON.stringify({ etag, document } satisfies Stored))).catch((error) => this.#report(error));
    }
    for (const listener of this.#listeners) {
      try {
        listener(document);
      } catch (error) {
        this.#report(error);
      }
    }
    return true;
  }

  async #restore() {
    const store = this.#options.store;
    if (!store || this.#document) return;
    try {
      const raw = await store.get(this.#storeKey());
      const stored = raw ? (JSON.parse(raw) as Stored) : null;
      if (stored?.document?.tenant_id === this.#options.tenant) this.#apply(stored.document, stored.etag);
    } catch (error) {
      this.#report(error);
    }
  }

  #storeKey() {
    return `tsv.flags.${this.#options.tenant}`;
  }

  #url(path: string) {
    return `${this.#options.baseUrl}${path}?tenant=${encodeURIComponent(this.#options.tenant)}`;
  }

  #auth() {
    return { authorization: `Bearer ${this.#options.apiKey}` };
  }

  #report(error: unknown) {
    this.#options.onError?.(error);
  }
}
