/**
 * Config language features (completion, hover, quick fixes, definitions, outline, CodeLens),
 * registered by the extension's activate(). Diagnostics live in ./diagnostics.ts.
 */
import type * as vscode from 'vscode';

export function registerLanguageFeatures(_context: vscode.ExtensionContext): void {
  // Providers are added here as they land (issue 9).
}
