/**
 * The fast reader of config files must never disagree with the `yaml` package: on generated
 * configs in every style, and on thousands of mutations of them (deleted and inserted brackets,
 * colons, quotes, dashes, line breaks), whenever it answers, its values and every origin (key and
 * value ranges) equal `yaml`'s, and `yaml` finds no error.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Random } from '../../src/core/random';
import { commentAfterBlankLines, fastParse } from '../../src/core/language/fastParse';
import { parseConfigText, parseConfigTextWithYaml } from '../../src/core/config/yamlFile';

type Tree = unknown;

const WORDS = ['type', 'ResNet', 'depth', 'num_classes', 'data', 'train', 'pipeline', 'size', 'a b', 'x_1', 'lr', 'cifar', 'null', 'true', '3', '0.5', '-1', '1e-3', 'http://x/y#z', "it's", 'say "hi"', '', '~', 'yes'];

function randomScalar(r: Random): unknown {
  switch (r.int(6)) {
    case 0:
      return r.int(1000) - 100;
    case 1:
      return Math.round(r.uniform(-5, 5) * 1000) / 1000;
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    default:
      return WORDS[r.int(WORDS.length)];
  }
}

function randomTree(r: Random, depth: number): Tree {
  if (depth <= 0 || r.chance(0.35)) return randomScalar(r);
  if (r.chance(0.3)) return Array.from({ length: r.int(4) }, () => randomTree(r, depth - 1));
  const out: Record<string, unknown> = {};
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) out[`${WORDS[r.int(9)].replace(' ', '_')}${i}`] = randomTree(r, depth - 1);
  return out;
}

function scalarText(v: unknown, r: Random): string {
  if (typeof v !== 'string') return v === null ? (r.chance(0.5) ? 'null' : '~') : String(v);
  const plainOk = /^[A-Za-z_][A-Za-z0-9_ /:#.'"-]*$/.test(v) && !/: |:$| #/.test(v) && !/^(null|true|false|yes|~)$/i.test(v);
  if (plainOk && r.chance(0.6)) return v;
  return r.chance(0.5) ? JSON.stringify(v) : `'${v.replace(/'/g, "''")}'`;
}

function flow(v: Tree, r: Random): string {
  if (Array.isArray(v)) return `[${v.map((x) => flow(x, r)).join(r.chance(0.5) ? ', ' : ',')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${flow(x, r)}`).join(', ')}}`;
  const s = scalarText(v, r);
  return /[,{}[\]]/.test(s) && !/^["']/.test(s) ? JSON.stringify(v) : s;
}

/** YAML text of a tree in a random mix of styles: block or flow, compact lists, comments, blank lines. */
function toYaml(v: Tree, r: Random, indent: number, unit: number): string[] {
  const pad = ' '.repeat(indent);
  const comment = () => (r.chance(0.1) ? '   # note' : '');
  if (Array.isArray(v)) {
    if (!v.length) return [`${pad}[]`];
    return v.flatMap((item) => {
      if (item && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length && r.chance(0.7)) {
        const lines = toYaml(item, r, indent + 2, unit);
        return [`${pad}- ${lines[0].trimStart()}`, ...lines.slice(1)];
      }
      if (item && typeof item === 'object' && r.chance(0.6)) return [`${pad}- ${flow(item, r)}${comment()}`];
      if (item && typeof item === 'object') return [`${pad}-`, ...toYaml(item, r, indent + unit, unit)];
      return [`${pad}- ${scalarText(item, r)}${comment()}`];
    });
  }
  if (v && typeof v === 'object') {
    if (!Object.keys(v).length) return [`${pad}{}`];
    const lines: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      if (r.chance(0.05)) lines.push(r.chance(0.5) ? '' : `${pad}# a comment`);
      const key = r.chance(0.1) ? JSON.stringify(k) : k;
      if (x && typeof x === 'object' && (Array.isArray(x) ? x.length : Object.keys(x).length)) {
        if (r.chance(0.3)) lines.push(`${pad}${key}: ${flow(x, r)}${comment()}`);
        else {
          const compact = Array.isArray(x) && r.chance(0.3);
          lines.push(`${pad}${key}:${comment()}`, ...toYaml(x, r, compact ? indent : indent + unit, unit));
        }
      } else if (x === null && r.chance(0.3)) lines.push(`${pad}${key}:`);
      else lines.push(`${pad}${key}: ${x && typeof x === 'object' ? flow(x, r) : scalarText(x, r)}${comment()}`);
    }
    return lines;
  }
  return [`${pad}${scalarText(v, r)}`];
}

function generated(seed: number, count = 60): string[] {
  const r = new Random(seed);
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const tree = randomTree(r, 4);
    const root = tree && typeof tree === 'object' && !Array.isArray(tree) ? tree : { root: tree };
    docs.push(toYaml(root, r, 0, r.chance(0.7) ? 2 : 4).join('\n') + (r.chance(0.9) ? '\n' : ''));
  }
  return docs;
}

const MUTATIONS = [' ', ':', '-', '{', '}', '[', ']', ',', '"', "'", '#', '\n', '  ', 'x', ': ', '- ', '&', '*', '!', '|', '?', '\t', '\\'];

function mutate(text: string, r: Random): string {
  const at = r.int(text.length + 1);
  if (r.chance(0.5) && text.length) return text.slice(0, at) + text.slice(at + 1 + r.int(2));
  return text.slice(0, at) + MUTATIONS[r.int(MUTATIONS.length)] + text.slice(at);
}

/** The two readers agree, or the fast one declines; returns whether the fast one answered. */
function agree(text: string): boolean {
  const fast = fastParse('/c.yaml', text);
  if (!fast) return false;
  const slow = parseConfigTextWithYaml('/c.yaml', text);
  expect(slow.problems, `yaml finds errors the fast reader missed in:\n${text}`).toEqual([]);
  expect({ value: fast.value, origins: fast.origins }, `for:\n${text}`).toEqual({ value: slow.value, origins: slow.origins });
  return true;
}

describe('the fast config reader', () => {
  it('agrees with yaml on generated configs in every style', () => {
    let answered = 0;
    const docs = generated(1);
    for (const text of docs) if (agree(text)) answered++;
    // Generated documents avoid what the fast reader declines, so it must answer nearly always.
    expect(answered).toBeGreaterThan(docs.length * 0.9);
  });

  it('agrees with yaml on mutated configs, or leaves them to yaml', () => {
    // CVW_FUZZ_SEED=n runs another seed: seeds 2-230 passed when this was written.
    const seed = Number(process.env.CVW_FUZZ_SEED ?? 2);
    const r = new Random(seed);
    let answered = 0;
    let total = 0;
    for (const doc of generated(seed + 1, 30)) {
      for (let i = 0; i < 30; i++) {
        let text = mutate(doc, r);
        if (r.chance(0.3)) text = mutate(text, r);
        total++;
        if (agree(text)) answered++;
      }
    }
    expect(total).toBe(900);
    expect(answered).toBeGreaterThan(50);
  });

  it('agrees with yaml on every config of the repository', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ya?ml|json)$/.test(e.name)) files.push(p);
      }
    };
    for (const dir of ['configs', 'test/e2e/fixtures']) if (fs.existsSync(dir)) walk(dir);
    for (const f of files) agree(fs.readFileSync(f, 'utf8'));
  });

  it('declines what it does not model, and parseConfigText then reports yaml errors', () => {
    for (const text of ['a: &x 1\nb: *x\n', 'a: |\n  text\n', 'a: 1\na: 2\n', 'a:\tb\n', 'a: 1\r\nb: 2\r\n', '---\na: 1\n', 'a: {b: 1\n', 'a: "x\n', '- 1\nb: 2\n', 'a: b: c\n', '{a, b}\n', 'a: !!str 1\n', 'key\n']) {
      expect(fastParse('/c.yaml', text), JSON.stringify(text)).toBeUndefined();
    }
    const bad = parseConfigText('/c.yaml', 'model:\n  type: ResNet\n   depth: 3\n');
    expect(bad.problems[0].code).toBe('yaml-syntax');
  });

  it('looks for a comment after blank lines in one pass, as the regular expression it replaced answers', () => {
    const r = new Random(7);
    const chars = [' ', ' ', '\n', '\n', '\t', '\r', '#', 'a', '\u00a0'];
    for (let n = 0; n < 4000; n++) {
      const text = Array.from({ length: r.int(10) }, () => chars[r.int(chars.length)]).join('');
      const from = r.int(text.length + 1);
      expect(commentAfterBlankLines(text, from), JSON.stringify([text, from])).toBe(/^(\s*\n)*[ ]*#/.test(text.slice(from)));
    }
    // 40 blank lines after an empty value took that expression minutes; its answer is yaml's.
    for (const text of ['a:\n' + '\n'.repeat(40) + 'b: 1\n', 'a:\n' + ' \n'.repeat(5000) + 'b: 1\n', 'a:\n' + '\n'.repeat(40) + '# c\nb: 1\n']) {
      expect(parseConfigText('/c.yaml', text).value).toEqual({ a: null, b: 1 });
    }
  });
});
