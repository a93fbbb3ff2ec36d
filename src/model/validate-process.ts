import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { NodeRegistry } from '../engine/node-registry.ts';
import type { ProcessDefinition } from './process-definition.ts';
import { COMMON_NODE_PROPERTIES, processJsonSchema } from './process-schema.ts';
import { parseDuration } from '../util/duration.ts';
import { checkRule } from '../funnels/trigger-match.ts';
import { checkTrigger } from '../funnels/trigger.ts';

export interface ValidationError {
  /** Where, e.g. `nodes.check.branches[0].to`. */
  path: string;
  message: string;
}

export class ProcessValidator {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly top: ValidateFunction;
  private readonly perType = new Map<string, ValidateFunction>();

  constructor(private readonly registry: NodeRegistry) {
    ajvFormats.default(this.ajv); // a trigger's from/to are date-times (CommonJS: the plugin is `default` under ESM)
    const schema = processJsonSchema(registry) as { properties: Record<string, unknown> };
    // Nodes are checked one by one below, so that each error names its node.
    this.top = this.ajv.compile({ ...schema, properties: { ...schema.properties, nodes: { type: 'object', minProperties: 1 } } });
    for (const t of registry.all()) {
      this.perType.set(
        t.type,
        this.ajv.compile({
          type: 'object',
          properties: { ...COMMON_NODE_PROPERTIES, ...((t.paramsSchema.properties as object) ?? {}) },
          required: (t.paramsSchema.required as string[]) ?? [],
          additionalProperties: false,
        }),
      );
    }
  }

  /** Every problem at once, each naming the node and the field. */
  validate(input: unknown): { ok: true; definition: ProcessDefinition } | { ok: false; errors: ValidationError[] } {
    const errors: ValidationError[] = [];
    if (!this.top(input)) {
      errors.push(...ajvErrors(this.top.errors ?? [], ''));
      return { ok: false, errors };
    }
    const def = input as unknown as ProcessDefinition;
    const ids = Object.keys(def.nodes);
    const edges = new Map<string, string[]>();
    for (const id of ids) {
      const node = def.nodes[id];
      const at = `nodes.${id}`;
      if (!node || typeof node !== 'object' || Array.isArray(node)) {
        errors.push({ path: at, message: 'must be an object with a type' });
        continue;
      }
      const type = this.registry.get(String(node.type));
      if (!type) {
        errors.push({ path: `${at}.type`, message: `unknown node type "${node.type}"; known: ${this.registry.all().map((t) => t.type).join(', ')}` });
        continue;
      }
      const check = this.perType.get(type.type)!;
      if (!check(node)) {
        errors.push(...ajvErrors(check.errors ?? [], at));
        continue;
      }
      for (const m of type.check?.(node) ?? []) errors.push({ path: at, message: m });
      const out = type.edges(node).concat(node.on_error ? [{ field: 'on_error', to: String(node.on_error) }] : []);
      for (const e of out) {
        if (!(e.to in def.nodes)) errors.push({ path: `${at}.${e.field}`, message: `edge to missing node "${e.to}"` });
      }
      edges.set(id, out.map((e) => e.to));
    }
    const start = def.start ?? ids[0];
    if (def.start !== undefined && !(def.start in def.nodes)) {
      errors.push({ path: 'start', message: `start node "${def.start}" does not exist` });
    }
    (def.triggers ?? []).forEach((t, i) => {
      errors.push(...checkTrigger(t, i));
      if (!t.match) return;
      for (const m of checkRule(t.match)) {
        const at = /^([a-z_]+(\[\d+\])?):\s/.exec(m);
        errors.push(at ? { path: `triggers[${i}].match.${at[1]}`, message: m.slice(at[0].length) } : { path: `triggers[${i}].match`, message: m });
      }
    });
    if (def.settings?.retention !== undefined) {
      try {
        parseDuration(def.settings.retention);
      } catch (e) {
        errors.push({ path: 'settings.retention', message: (e as Error).message });
      }
    }
    if (errors.length === 0) {
      const seen = new Set<string>([start]);
      const queue = [start];
      while (queue.length) for (const to of edges.get(queue.pop()!) ?? []) if (!seen.has(to)) (seen.add(to), queue.push(to));
      for (const id of ids) {
        if (!seen.has(id)) errors.push({ path: `nodes.${id}`, message: `unreachable from the start node "${start}"` });
      }
    }
    return errors.length ? { ok: false, errors } : { ok: true, definition: def };
  }
}

function ajvErrors(list: ErrorObject[], prefix: string): ValidationError[] {
  return list.map((e) => {
    let path = e.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
    if (e.keyword === 'required') path = path ? `${path}.${e.params.missingProperty}` : String(e.params.missingProperty);
    if (e.keyword === 'additionalProperties') path = path ? `${path}.${e.params.additionalProperty}` : String(e.params.additionalProperty);
    const full = [prefix, path].filter(Boolean).join('.');
    const message =
      e.keyword === 'required' ? 'is required'
      : e.keyword === 'additionalProperties' ? 'is not a known field here'
      : e.keyword === 'enum' ? `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`
      : e.message ?? 'is invalid';
    return { path: full || '(root)', message };
  });
}
