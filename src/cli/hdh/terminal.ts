// The terminal the plugin writes to: colour only on a terminal and without NO_COLOR, text from
// the cluster made harmless (a tenant writes pod names, labels and messages that reach here, and
// an escape sequence in them must not drive the user's terminal), and a typed confirmation.
import { createInterface } from 'node:readline/promises';
import { jsonVisible, visible } from '../../report/compliance/visible.js';

export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal and NO_COLOR is unset: colour is wanted. */
  colour: boolean;
  /** Whether stdin is a terminal, so a person can answer a question. */
  interactive: boolean;
  /** Asks on stderr and reads one line of stdin. */
  ask(question: string): Promise<string>;
}

/** Whether to colour: stdout is a terminal and NO_COLOR is unset or empty (no-color.org). */
export function wantsColour(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return !!isTTY && !env.NO_COLOR;
}

export function processTerminal(): Terminal {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    colour: wantsColour(process.stdout.isTTY, process.env),
    interactive: !!process.stdin.isTTY,
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/**
 * The terminal sanitiser, which everything printed from the cluster or a file goes through:
 * control characters (C0, DEL, C1, carriage return), bidirectional overrides and zero-width
 * characters written out as \u{…}, as the report's pages write them. Newlines and tabs are kept.
 */
export function safe(text: string): string {
  return visible(text, '\r');
}

/** `safe`, and on one line: newlines and tabs become spaces. */
export function oneLine(text: string): string {
  return safe(text).replace(/[\n\t]/g, ' ');
}

/** A value as indented JSON for a terminal: hidden characters as \u escapes (the same values). */
export function printableJson(value: unknown): string {
  return `${jsonVisible(JSON.stringify(value, null, 2))}\n`;
}

export type Tone = 'good' | 'bad' | 'warn' | 'dim' | 'bold';

const SGR: Record<Tone, string> = { good: '32', bad: '31', warn: '33', dim: '2', bold: '1' };

/** A painter: ANSI colour when wanted, the text unchanged otherwise. */
export function painter(colour: boolean): (tone: Tone, text: string) => string {
  return (tone, text) => (colour && text ? `\u001b[${SGR[tone]}m${text}\u001b[0m` : text);
}
