/**
 * Text from files (run records, configs) placed in the Markdown of hovers and tooltips: shown as
 * the text it is, never read as Markdown. A run.json comes with the workspace, and its error
 * message or a metric's name could otherwise end a code span and add links or remote images.
 */

/** `text` with every Markdown (and theme-icon `$(...)`) character escaped. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~$&]/g, '\\$&');
}

/**
 * `text` as an inline code span: its backquotes become quotes, and its line breaks spaces (a blank
 * line would end the span, and what follows it would be Markdown).
 */
export function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\s*[\r\n]+\s*/g, ' ')}\``;
}
