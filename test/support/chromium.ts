// A page opened in a real headless Chromium (Debian's `chromium` package), driven over the
// DevTools protocol on a pipe (no port is opened): what the page requested, what it logged, its
// text and a full-page screenshot. Used to prove a report page is self-contained.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser binary: $CHROMIUM, else the Debian package's; throws saying how to install it. */
export function chromiumPath(): string {
  for (const path of [process.env.CHROMIUM, ...CANDIDATES]) {
    if (!path) continue;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error('no Chromium found: install the Debian package `chromium` (.ci/run does) or set $CHROMIUM');
}

export interface PageVisit {
  /** Every request the page made, the document's own included. */
  requests: string[];
  /** Console and browser log entries of the page (CSP refusals appear here). */
  log: { level: string; text: string }[];
  /** document.body.innerText once loaded. */
  text: string;
  /** document.title. */
  title: string;
  /** PNG of the whole page. */
  screenshot: Buffer;
  /** PNG of its top `topHeight` pixels. */
  top: Buffer;
}

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** A DevTools protocol connection over Chromium's --remote-debugging-pipe (fd 3 in, fd 4 out). */
class Cdp {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  private readonly listeners: ((m: CdpMessage) => void)[] = [];
  private buffer = '';

  constructor(
    private readonly input: Writable,
    output: Readable,
  ) {
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end)) as CdpMessage;
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(message);
      }
    });
  }

  private dispatch(message: CdpMessage): void {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result ?? {});
      return;
    }
    for (const listener of this.listeners) listener(message);
  }

  on(listener: (m: CdpMessage) => void): void {
    this.listeners.push(listener);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    this.input.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return reply;
  }
}

/** Opens `file` in headless Chromium, waits for its load event, and reports what happened. */
export async function visitInChromium(file: string, width = 1280, topHeight = 1200): Promise<PageVisit> {
  const profile = mkdtempSync(join(tmpdir(), 'hdh-chromium-'));
  const browser: ChildProcess = spawn(
    chromiumPath(),
    [
      '--headless',
      '--remote-debugging-pipe',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  browser.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<never>((_, reject) =>
    browser.once('exit', (code) => reject(new Error(`chromium exited (${code}): ${stderr.slice(-2000)}`))),
  );
  exited.catch(() => undefined);
  try {
    const cdp = new Cdp(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
    const visit = async (): Promise<PageVisit> => {
      const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as {
        sessionId: string;
      };
      const requests: string[] = [];
      const log: PageVisit['log'] = [];
      let loaded: () => void = () => undefined;
      const load = new Promise<void>((resolve) => (loaded = resolve));
      cdp.on((m) => {
        if (m.sessionId !== sessionId) return;
        const p = m.params ?? {};
        if (m.method === 'Network.requestWillBeSent') requests.push((p.request as { url: string }).url);
        if (m.method === 'Log.entryAdded') {
          const entry = p.entry as { level: string; text: string };
          log.push({ level: entry.level, text: entry.text });
        }
        if (m.method === 'Runtime.consoleAPICalled') {
          log.push({ level: String(p.type), text: JSON.stringify(p.args) });
        }
        if (m.method === 'Page.loadEventFired') loaded();
      });
      for (const domain of ['Network', 'Page', 'Runtime', 'Log'])
        await cdp.send(`${domain}.enable`, {}, sessionId);
      await cdp.send(
        'Emulation.setDeviceMetricsOverride',
        { width, height: 900, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      await cdp.send('Page.navigate', { url: pathToFileURL(file).href }, sessionId);
      await load;
      const evaluate = async (expression: string) =>
        (
          (await cdp.send('Runtime.evaluate', { expression, returnByValue: true }, sessionId)).result as {
            value: unknown;
          }
        ).value;
      const text = String(await evaluate('document.body.innerText'));
      const title = String(await evaluate('document.title'));
      const height = Number(await evaluate('Math.ceil(document.documentElement.scrollHeight)'));
      await cdp.send(
        'Emulation.setDeviceMetricsOverride',
        { width, height, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      const { data } = (await cdp.send('Page.captureScreenshot', { format: 'png' }, sessionId)) as {
        data: string;
      };
      const { data: top } = (await cdp.send(
        'Page.captureScreenshot',
        { format: 'png', clip: { x: 0, y: 0, width, height: Math.min(topHeight, height), scale: 1 } },
        sessionId,
      )) as { data: string };
      return {
        requests,
        log,
        text,
        title,
        screenshot: Buffer.from(data, 'base64'),
        top: Buffer.from(top, 'base64'),
      };
    };
    return await Promise.race([visit(), exited]);
  } finally {
    browser.kill('SIGKILL');
    await new Promise((resolve) =>
      browser.exitCode !== null ? resolve(undefined) : browser.once('exit', resolve),
    );
    rmSync(profile, { recursive: true, force: true });
  }
}
