/**
 * A bound on how deeply a YAML (or JSON) text nests, found without parsing it. Every reader of
 * configs recurses once per level (the `yaml` package, the editor's scanner, merging,
 * validation); 4,000 levels overflow the stack, and near the stack's limit V8 may even abort the
 * whole process (a regular expression compiled there fails as "out of memory"), which no
 * try/catch survives. So the depth is checked first, in one iterative pass.
 *
 * The estimate is an upper bound, never below the real depth: a block level counts twice (a
 * list may sit at its parent key's column), each `- `, `? ` or `: ` indicator leading a line
 * counts once, and so does each flow bracket still open. Brackets inside what seems to be a
 * quoted scalar count too, in their own tally that their closing brackets lower again (never
 * below zero): a misread quote can then only add levels, while `"a[1].ts"` adds none. Brackets in
 * comments never count: after a `#` that starts a comment here, the parser is in a comment or
 * in a quoted string, never in structure. Configs nest about ten levels, which estimates to a
 * few dozen; the limit is far above that.
 */

/** Levels of mappings and lists inside each other that a config may have. */
export const MAX_NESTING = 100;

/**
 * The offset where `text` nests deeper than `limit` levels by the estimate above, or undefined
 * when it does not.
 */
export function nestingBeyond(text: string, limit = MAX_NESTING): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  /** Brackets still open inside (what seemed to be) quoted scalars. */
  let quoted = 0;
  /** Inside a quoted scalar that may continue on the next line: its quote. */
  let quote: '"' | "'" | undefined;
  let i = 0;
  const n = text.length;
  const depth = (leading: number) => 2 * indents.length + leading + flow + quoted;
  while (i < n) {
    // One line: [i, end). Its indentation and leading indicators count even where the line seems
    // to continue a quoted scalar: a misread quote must never hide levels (it may only add some).
    let end = text.indexOf('\n', i);
    if (end < 0) end = n;
    let j = i;
    while (j < end && (text[j] === ' ' || text[j] === '\t')) j++;
    if (j < end && text[j] !== '#' && text[j] !== '\r') {
      const indent = j - i;
      while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
    }
    let leading = 0;
    while (j + 1 < end && (text[j] === '-' || text[j] === '?' || text[j] === ':') && (text[j + 1] === ' ' || text[j + 1] === '\t')) {
      leading++;
      j += 2;
      while (j < end && (text[j] === ' ' || text[j] === '\t')) j++;
    }
    if (depth(leading) > limit) return j;
    for (; j < end; j++) {
      const c = text[j];
      if (quote !== undefined) {
        if (c === '[' || c === '{') {
          quoted++;
          if (depth(leading) > limit) return j;
        } else if ((c === ']' || c === '}') && quoted > 0) quoted--;
        else if (c === '\\' && quote === '"') j++;
        else if (c === quote) {
          if (quote === "'" && text[j + 1] === "'") j++;
          else quote = undefined;
        }
        continue;
      }
      const prev = j === 0 ? '\n' : text[j - 1];
      if (c === '#' && (prev === ' ' || prev === '\t' || prev === '\n')) break;
      const atScalarStart = prev === ' ' || prev === '\t' || prev === '\n' || prev === '[' || prev === '{' || prev === ',' || prev === ':';
      if ((c === '"' || c === "'") && atScalarStart) quote = c;
      else if (c === '[' || c === '{') {
        flow++;
        if (depth(leading) > limit) return j;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
    i = end + 1;
  }
  return undefined;
}
