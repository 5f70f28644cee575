/**
 * Text from a workspace's files in hovers and tooltips (a run.json's error, a metric's name, a
 * config's keys) must show as the text it is: rendered as VS Code renders Markdown (markdown-it),
 * it makes no link, image or HTML, whatever it holds.
 */
import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { codeSpan, escapeMarkdown } from '../../src/core/markdown';

const md = new MarkdownIt({ html: true, linkify: false });
const HOSTILE = [
  'plain',
  'ends the span` and [a link](http://example.com/x) ![img](http://example.com/t.png)',
  'a blank line\n\n![tracker](http://example.com/t.png)\n\n[click](command:workbench.action.terminal.new)',
  '<img src=x onerror=alert(1)> <a href="http://e">e</a> &amp; $(zap) **bold** _base_ # h1 > quote - item 1. item',
  '``` fence\ncode\n```',
  '\\` escaped \\\\` twice',
];

const text = (html: string) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();

describe('text from files in Markdown', () => {
  it('escapeMarkdown: the rendered text is the text, with no element but a paragraph and line breaks', () => {
    for (const s of HOSTILE) {
      const html = md.render(escapeMarkdown(s));
      expect(html.match(/<(?!\/?p>|br>)[a-z][^>]*>/gi), html).toBeNull();
      expect(text(html).replace(/\s+/g, ' '), html).toBe(s.replace(/\s+/g, ' ').trim());
    }
  });

  it('codeSpan: one code span of the text, its backquotes quotes and its line breaks spaces', () => {
    for (const s of HOSTILE) {
      const html = md.renderInline(`- ${codeSpan(s)}`);
      expect(html.match(/<code>/g), html).toHaveLength(1);
      expect(html.match(/<(?!\/?code>)[a-z][^>]*>/gi), html).toBeNull();
      expect(text(html)).toBe(`- ${s.replace(/`/g, "'").replace(/\s*[\r\n]+\s*/g, ' ')}`.trim());
    }
  });
});
