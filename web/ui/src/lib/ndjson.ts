// Newline-delimited JSON, as streamed answers (a dry run's progress) come:
// chunks of text are split into complete lines, the last partial line kept
// for the next chunk. Unit-tested (ndjson.test.ts).

export class LineSplitter {
  private rest = '';

  /** push takes a chunk of text and returns the complete, non-empty lines it ends. */
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  }

  /** end returns the last line when the stream did not end with a newline. */
  end(): string[] {
    const last = this.rest.replace(/\r$/, '');
    this.rest = '';
    return last.trim() ? [last] : [];
  }
}

/** parseLines decodes JSON lines; a line that is not JSON becomes an error value. */
export function parseLine<T>(line: string): T | { error: { code: string; message: string } } {
  try {
    return JSON.parse(line) as T;
  } catch {
    return { error: { code: 'bad_stream', message: 'the server sent a line that is not JSON: ' + line.slice(0, 80) } };
  }
}
