import type { NodeType, RefParam } from '../engine/node-type.ts';
import type { ProcessDefinition } from '../model/process-definition.ts';
import type { InboundEvent } from './inbound-event.ts';
import type { TriggerDefinition } from './trigger.ts';

/** How to copy: the new name, and tag / bot names to change on the way (old → new). */
export interface CopySpec {
  as: string;
  tags?: Record<string, string>;
  /** Connection names (trigger `bots`, a node's `connection`), and bot @usernames (`link.paid`). */
  bots?: Record<string, string>;
}

/** Where the copy goes: its project, whether that is the source's own, and the connections it has. */
export interface CopyTarget {
  project: string;
  sameProject: boolean;
  connections: Array<{ connector: string; name: string }>;
  /** The node type of a node (the server's registry); node types declare what their params name. */
  nodeType(type: string): NodeType | undefined;
}

/** Something in the copy the operator must look at: where (`node` or `trigger`), which field, why. */
export interface CopyFlag {
  node?: string;
  trigger?: number;
  field: string;
  value: string;
  reason: string;
}

export interface CopyResult {
  definition: ProcessDefinition;
  flags: CopyFlag[];
  /** Tags copied to another project unchanged (tags are free-form: kept, but listed). */
  tags_kept: string[];
}

/**
 * The connectors whose connections are bots (trigger `bots`). A Record over the inbound platforms, so a
 * new platform does not type-check until it is added here.
 */
const BOT_CONNECTORS: Record<InboundEvent['platform'], true> = { telegram: true, vk: true };

/** What a trigger names in the project; keyed by TriggerDefinition so a renamed field breaks the build. */
const TRIGGER_REFS: { tags: Array<keyof TriggerDefinition & string>; bots: keyof TriggerDefinition & string } = {
  tags: ['tags_present', 'tags_absent', 'once'],
  bots: 'bots',
};

/**
 * A copy of a process under a new name, for the same project or another one: every tag and every
 * connection or bot the triggers and nodes name (as their node types declare in `refs`) is remapped by
 * the spec; a connection the target project lacks is flagged, and so is a bot @username copied to
 * another project as is (no connection says which bot it is). The public id is not copied: the copy
 * gets its own public URL and secret. Pure: the caller validates and deploys the result.
 */
export function copyFunnel(source: ProcessDefinition, spec: CopySpec, target: CopyTarget): CopyResult {
  const def = structuredClone(source);
  def.name = spec.as;
  delete def.public_id;
  const flags: CopyFlag[] = [];
  const kept = new Set<string>();
  const usedTags = new Set<string>();
  const usedBots = new Set<string>();
  const has = (connectors: string[], name: string) => target.connections.some((c) => c.name === name && connectors.includes(c.connector));
  const templated = (v: string) => v.includes('{{');

  const tag = (value: string): string => {
    if (templated(value)) return value; // rendered per task: nothing fixed to remap
    const to = lookup(spec.tags, value);
    if (to !== undefined) {
      usedTags.add(value);
      return to;
    }
    if (!target.sameProject) kept.add(value);
    return value;
  };
  const connection = (connectors: string[]) => (where: Where, field: string, value: string, implicit: boolean): string => {
    if (templated(value)) return value;
    const to = lookup(spec.bots, value);
    if (to !== undefined) usedBots.add(value);
    const name = to ?? value;
    if (!has(connectors, name)) {
      const of = connectors.length === 1 ? `${connectors[0]} connection` : `bot (${connectors.join(' or ')} connection)`;
      flags.push({ ...where, field, value: name, reason: `no ${of} "${name}" in project "${target.project}"${implicit ? ' (the default when the field is absent)' : ''}${to !== undefined ? ` (remapped from "${value}")` : ''}` });
    }
    return name;
  };
  const username = (where: Where, field: string, value: string): string => {
    if (templated(value)) return value;
    const bare = value.replace(/^@/, '');
    const key = lookup(spec.bots, value) !== undefined ? value : lookup(spec.bots, bare) !== undefined ? bare : undefined;
    if (key !== undefined) {
      usedBots.add(key);
      return lookup(spec.bots, key)!;
    }
    if (!target.sameProject) {
      flags.push({ ...where, field, value, reason: `a bot's @username, copied as is: check that it is a bot of project "${target.project}" or remap it` });
    }
    return value;
  };

  (def.triggers ?? []).forEach((t, i) => {
    const where = { trigger: i };
    const holder = t as unknown as Record<string, unknown>;
    for (const path of TRIGGER_REFS.tags) visit(holder, { path }, where, (_w, _f, v) => tag(v));
    visit(holder, { path: TRIGGER_REFS.bots }, where, connection(Object.keys(BOT_CONNECTORS)));
  });

  for (const [id, node] of Object.entries(def.nodes)) {
    const refs = target.nodeType(String(node?.type))?.refs;
    if (!refs) continue;
    const where = { node: id };
    for (const r of refs.tags ?? []) visit(node, r, where, (_w, _f, v) => tag(v));
    for (const r of refs.connections ?? []) visit(node, r, where, connection(([] as string[]).concat(r.connector)));
    for (const r of refs.usernames ?? []) visit(node, r, where, username);
  }

  // A remap that matched nothing is most likely a typo: say so rather than copy silently.
  for (const old of Object.keys(spec.tags ?? {})) if (!usedTags.has(old)) flags.push({ field: 'tags', value: old, reason: `no tag "${old}" in process "${source.name}": nothing remapped` });
  for (const old of Object.keys(spec.bots ?? {})) if (!usedBots.has(old)) flags.push({ field: 'bots', value: old, reason: `no bot or connection "${old}" in process "${source.name}": nothing remapped` });
  return { definition: def, flags, tags_kept: [...kept].sort() };
}

/** The remap of `key`; own keys only, so a tag called "constructor" is not Object's. */
const lookup = (map: Record<string, string> | undefined, key: string): string | undefined =>
  map && Object.hasOwn(map, key) ? map[key] : undefined;

type Where = { node: string } | { trigger: number };
type Visitor = (where: Where, field: string, value: string, implicit: boolean) => string;

/**
 * Calls `fn` for the string, or each string of the list, at `ref.path` in `holder`, and writes back what
 * it returns. An absent value with a `default` is visited as that default (when its parent object exists)
 * and written explicitly only if it changed, so a remapped default does not fall back to the old name.
 */
function visit(holder: Record<string, unknown>, ref: RefParam, where: Where, fn: Visitor): void {
  const keys = ref.path.split('.');
  let parent: unknown = holder;
  for (const k of keys.slice(0, -1)) parent = parent && typeof parent === 'object' && !Array.isArray(parent) ? (parent as Record<string, unknown>)[k] : undefined;
  if (!parent || typeof parent !== 'object' || Array.isArray(parent)) return;
  const obj = parent as Record<string, unknown>;
  const last = keys[keys.length - 1];
  const value = obj[last];
  if (typeof value === 'string') {
    obj[last] = fn(where, ref.path, value, false);
  } else if (Array.isArray(value)) {
    obj[last] = value.map((v, i) => (typeof v === 'string' ? fn(where, `${ref.path}[${i}]`, v, false) : v));
  } else if (value === undefined && ref.default !== undefined) {
    const to = fn(where, ref.path, ref.default, true);
    if (to !== ref.default) obj[last] = to;
  }
}
