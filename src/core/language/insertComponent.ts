/**
 * The text "Insert into config" puts at the cursor: a component's `type` and its required
 * parameters (with example values), as block YAML at the indentation of the cursor's line.
 */
import type { RegisteredComponent } from '../registry';
import { isOptional, shapeOf } from '../schema';
import { blockYamlLines, exampleValue } from './yamlText';

/** Lines to insert on a line holding `lineText` (blank or not) for `entry`. */
export function componentInsertion(entry: RegisteredComponent, lineText: string, unit = '  '): string {
  const indent = /^\s*/.exec(lineText)![0];
  const lines = [`${indent}type: ${entry.type}`];
  for (const [key, schema] of Object.entries(shapeOf(entry.params) ?? {})) {
    if (!isOptional(schema)) lines.push(...blockYamlLines(key, exampleValue(schema), indent, unit));
  }
  return lines.join('\n');
}
