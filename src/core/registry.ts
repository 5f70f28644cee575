/**
 * The registry: every component registers under its `type` name with a zod schema of its
 * parameters. Building from a config validates first, then constructs (mmengine's registry, with
 * typed schemas instead of `**kwargs`).
 */
import { z } from 'zod';
import { aKind, COMPONENT_KINDS, KIND_NAMES, type ComponentKind } from './kinds';
import { ComponentError, UserError } from './problems';
import { closestNames, didYouMean } from './suggest';
import { isPlainObject, type ComponentConfig } from './schema';
import { quoted } from './format';
import { fileURLToPath } from 'node:url';

export interface BuildContext {
  /** Build a nested component (a slot value); `defaults` fill keys the config leaves out. */
  build<T = unknown>(kind: ComponentKind, cfg: unknown, defaults?: Record<string, unknown>): T;
}

type ParamsSchema = z.ZodObject<z.ZodRawShape>;

export interface ComponentSpec<P extends ParamsSchema = ParamsSchema, T = unknown> {
  /** The name configs use in `type:`. */
  type: string;
  /** One line: what it is. */
  description: string;
  /** The paper or source it follows: "Chen et al., A Simple Framework ... (SimCLR), ICML 2020, arXiv:2002.05709". */
  paper?: string;
  /** Parameters (without `type`): a strict zod object whose fields carry defaults and `.describe()`. */
  params: P;
  /** Constructs the component from validated parameters. Schema-only registrations leave it out. */
  build?: (params: z.output<P>, ctx: BuildContext) => T;
}

/** A place in a file as a stack trace names it (1-based line and column). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface RegisteredComponent<T = unknown> extends ComponentSpec<ParamsSchema, T> {
  kind: ComponentKind;
  /** The file that registered it (custom components: for "go to definition"). */
  sourceFile?: string;
  /**
   * The `register(...)` call as the stack named it: in a bundle, a place in the bundle
   * (`registrationSource` in core/registrationSource.ts maps it back to the TypeScript file).
   */
  registeredAt?: SourceLocation;
  /** True for components of this package, false for `custom_imports`. */
  builtin: boolean;
}

export class Registry<T = unknown> {
  private readonly items = new Map<string, RegisteredComponent<T>>();

  constructor(readonly kind: ComponentKind) {}

  register<P extends ParamsSchema>(spec: ComponentSpec<P, T>, options: { sourceFile?: string; builtin?: boolean; at?: SourceLocation } = {}): RegisteredComponent<T> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.type)) throw new Error(`cannot register ${this.kind} "${spec.type}": a type name is an identifier`);
    const existing = this.items.get(spec.type);
    if (existing) {
      const where = existing.sourceFile ? ` (registered by ${existing.sourceFile})` : '';
      throw new Error(`${KIND_NAMES[this.kind].one} "${spec.type}" is already registered${where}; pick another name`);
    }
    const at = options.at ?? callSite(Registry.prototype.register);
    const entry: RegisteredComponent<T> = {
      ...(spec as unknown as ComponentSpec<ParamsSchema, T>),
      kind: this.kind,
      sourceFile: options.sourceFile ?? currentCustomFile ?? at?.file,
      registeredAt: at,
      builtin: options.builtin ?? currentRegistrationIsBuiltin,
    };
    this.items.set(spec.type, entry);
    return entry;
  }

  unregister(type: string): boolean {
    return this.items.delete(type);
  }

  get(type: string): RegisteredComponent<T> | undefined {
    return this.items.get(type);
  }

  has(type: string): boolean {
    return this.items.has(type);
  }

  names(): string[] {
    return [...this.items.keys()].sort();
  }

  entries(): RegisteredComponent<T>[] {
    return this.names().map((n) => this.items.get(n)!);
  }

  /** The registered component for `type`, or an error naming this registry and the nearest names. */
  require(type: string): RegisteredComponent<T> {
    const entry = this.items.get(type);
    if (entry) return entry;
    throw new UserError(unknownTypeMessage(this.kind, type));
  }

  /** Validate `cfg` against the component's schema, then construct it. */
  build(cfg: unknown, defaults: Record<string, unknown> = {}, path = ''): T {
    if (!isPlainObject(cfg) || typeof cfg.type !== 'string') {
      throw new UserError(`${path || this.kind}: expected a mapping with a "type" naming ${aKind(this.kind)}`);
    }
    const entry = this.require(cfg.type);
    if (!entry.build) throw new UserError(`${KIND_NAMES[this.kind].one} "${entry.type}" is declared but cannot be built yet`);
    const { type: _type, ...raw } = { ...defaults, ...cfg } as ComponentConfig;
    // Defaults the component's schema does not know are hints for optional parameters only.
    for (const key of Object.keys(defaults)) if (!(key in entry.params.shape) && !(key in cfg)) delete raw[key];
    const parsed = entry.params.safeParse(raw);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `  ${[path, ...i.path.map(String)].filter(Boolean).join('.') || entry.type}: ${i.message}`);
      throw new UserError(`invalid parameters for ${KIND_NAMES[this.kind].one} "${entry.type}":\n${lines.join('\n')}`);
    }
    try {
      return entry.build(parsed.data, makeContext(path));
    } catch (err) {
      throw err instanceof ComponentError ? err.at(path) : err;
    }
  }
}

function makeContext(path: string): BuildContext {
  return {
    build<U>(kind: ComponentKind, cfg: unknown, defaults?: Record<string, unknown>): U {
      return registries[kind].build(cfg, defaults, path ? `${path}.${kind}` : kind) as U;
    },
  };
}

/** `unknown backbone "ResNte" — did you mean "ResNet"?`, noting when the name belongs to another kind. */
export function unknownTypeMessage(kind: ComponentKind, type: string): string {
  const other = COMPONENT_KINDS.find((k) => k !== kind && registries[k].has(type));
  if (other) {
    return `${quoted(type)} is ${aKind(other)}, but this slot takes ${aKind(kind)}` + didYouMean(closestNames(type, registries[kind].names()));
  }
  const near = closestNames(type, registries[kind].names());
  const known = near.length ? '' : ` (registered ${KIND_NAMES[kind].many}: ${registries[kind].names().join(', ') || 'none'})`;
  return `unknown ${KIND_NAMES[kind].one} ${quoted(type)}${didYouMean(near)}${known}`;
}

export const registries: { [K in ComponentKind]: Registry } = Object.fromEntries(
  COMPONENT_KINDS.map((k) => [k, new Registry(k)]),
) as { [K in ComponentKind]: Registry };

/** Register a component of `kind`. Registering a name twice is an error. */
export function register<P extends ParamsSchema, T = unknown>(kind: ComponentKind, spec: ComponentSpec<P, T>): RegisteredComponent<T> {
  return registries[kind].register(spec as unknown as ComponentSpec<ParamsSchema, unknown>, { at: callSite(register) }) as RegisteredComponent<T>;
}

/** Build a component of `kind` from its config mapping. */
export function build<T = unknown>(kind: ComponentKind, cfg: unknown, defaults?: Record<string, unknown>): T {
  return registries[kind].build(cfg, defaults, kind) as T;
}

/** Every registered component, kind by kind. */
export function allComponents(): RegisteredComponent[] {
  return COMPONENT_KINDS.flatMap((k) => registries[k].entries());
}

/** Find a component by type name in any registry (names are unique per kind, rarely across). */
export function findComponent(type: string): RegisteredComponent | undefined {
  for (const k of COMPONENT_KINDS) {
    const c = registries[k].get(type);
    if (c) return c;
  }
  return undefined;
}

let currentRegistrationIsBuiltin = true;
let currentCustomFile: string | undefined;

/**
 * Run `fn` with registrations marked as custom (not built in): used by the custom-import loader.
 * `sourceFile`, the module being loaded, is recorded as their source: the call stack cannot tell
 * it inside a bundle (the extension, a bundled CLI), where `register` itself is not in registry.js.
 */
export function registeringCustom<R>(fn: () => R, sourceFile?: string): R {
  const before = currentRegistrationIsBuiltin;
  const beforeFile = currentCustomFile;
  currentRegistrationIsBuiltin = false;
  currentCustomFile = sourceFile;
  try {
    return fn();
  } finally {
    currentRegistrationIsBuiltin = before;
    currentCustomFile = beforeFile;
  }
}

/** Remove every component registered by `file` (before re-loading an edited custom module). */
export function unregisterFile(file: string): number {
  let n = 0;
  for (const k of COMPONENT_KINDS) {
    for (const c of registries[k].entries()) {
      if (!c.builtin && c.sourceFile === file) n += Number(registries[k].unregister(c.type));
    }
  }
  return n;
}

/**
 * Where `fn` was called from: the first frame below it on the stack. Cutting the stack at the
 * function itself (not at this file's name) also works in a bundle, where the registry and the
 * component that calls it are one file.
 */
function callSite(fn: (...args: never[]) => unknown): SourceLocation | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, fn);
  for (const line of holder.stack?.split('\n').slice(1) ?? []) {
    const m = /\(?((?:[A-Za-z]:)?[/\\][^():]+|file:\/\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m || m[1].includes('node:internal')) continue;
    return { file: m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1], line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
