const FRAME = /^\s+at\s/;
const CAUSE_ELIDED = /^\s*\.\.\. \d+ lines? matching cause stack trace \.\.\.$/;

/**
 * What an app printed, without its stack traces. `@lenra/app` prints a whole stack trace for
 * every view or listener that fails (`console.error(error)`), where the dev server already
 * logs one line with the app's message; each printed error (its first line and its `at …`
 * frames) is dropped, everything else is kept as it is.
 */
export function withoutStackTraces(text: string): string {
  const lines = text.split("\n");
  const kept: string[] = [];
  let inTrace = false;
  for (const line of lines) {
    if (FRAME.test(line) || CAUSE_ELIDED.test(line)) {
      // The line before a trace's first frame is the error's own: "Error: <message>".
      if (!inTrace && kept.length > 0 && (kept.at(-1) as string).trim() !== "") kept.pop();
      inTrace = true;
      continue;
    }
    inTrace = false;
    kept.push(line);
  }
  return kept.join("\n");
}
