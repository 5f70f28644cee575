/**
 * Config language features (completion, hover, quick fixes, definitions, outline, CodeLens),
 * registered by the extension's activate(). Diagnostics live in ./diagnostics.ts. Each provider
 * is a thin adapter: the work is done by the editor-independent functions of src/core/language.
 *
 * Custom components need nothing here: every request loads the document's `custom_imports`
 * again when a module changed on disk (the mtime check of src/core/customImports.ts), and the
 * diagnostics re-validate the configs that import a module when it changes. In a workspace that is
 * not trusted no custom module is loaded (src/extension/trust.ts).
 */
import * as vscode from 'vscode';
import { ConfigQuickFixProvider } from './codeActions';
import { ConfigCodeLensProvider } from './codeLens';
import { COMPLETION_TRIGGERS, ConfigCompletionProvider } from './completion';
import { ComponentDocProvider, ConfigDefinitionProvider, DOC_SCHEME } from './definition';
import { CONFIG_SELECTOR } from './documents';
import { ConfigHoverProvider } from './hover';
import { ConfigSymbolProvider } from './symbols';

export { addConfigLens, type ConfigLensContributor } from './codeLens';

export function registerLanguageFeatures(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.languages.registerCompletionItemProvider(CONFIG_SELECTOR, new ConfigCompletionProvider(), ...COMPLETION_TRIGGERS),
    vscode.languages.registerHoverProvider(CONFIG_SELECTOR, new ConfigHoverProvider()),
    vscode.languages.registerDefinitionProvider(CONFIG_SELECTOR, new ConfigDefinitionProvider()),
    vscode.languages.registerDocumentSymbolProvider(CONFIG_SELECTOR, new ConfigSymbolProvider(), { label: 'CV Workbench config' }),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, new ConfigCodeLensProvider()),
    vscode.languages.registerCodeActionsProvider(CONFIG_SELECTOR, new ConfigQuickFixProvider(), { providedCodeActionKinds: ConfigQuickFixProvider.providedCodeActionKinds }),
    vscode.workspace.registerTextDocumentContentProvider(DOC_SCHEME, new ComponentDocProvider()),
  );
}
