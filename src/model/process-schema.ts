import type { NodeRegistry } from '../engine/node-registry.ts';
import { TRIGGERS_SCHEMA } from '../funnels/trigger.ts';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

/** Fields every node may have, whatever its type. */
export const COMMON_NODE_PROPERTIES = {
  type: { type: 'string' },
  title: { type: 'string', maxLength: 200 },
  description: { type: 'string' },
  on_error: { type: 'string', description: 'Node to go to when this node fails for good.' },
  position: { type: 'object', description: 'Where the console draws the node.' },
};

/** The JSON Schema of a process file, composed from the registered node types; published at
 *  `GET /api/v1/schema/process` and in `schema/process.schema.json`. */
export function processJsonSchema(registry: NodeRegistry): Record<string, unknown> {
  const nodeSchemas = registry.all().map((t) => ({
    if: { properties: { type: { const: t.type } }, required: ['type'] },
    then: {
      description: t.description,
      type: 'object',
      properties: { ...COMMON_NODE_PROPERTIES, ...((t.paramsSchema.properties as object) ?? {}) },
      required: ['type', ...(((t.paramsSchema.required as string[]) ?? []))],
      additionalProperties: false,
    },
  }));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://conveyor.local/schema/process.json',
    title: 'Conveyor process',
    type: 'object',
    required: ['name', 'nodes'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: NAME },
      title: { type: 'string', maxLength: 200 },
      description: { type: 'string' },
      start: { type: 'string' },
      public_id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      config: { type: 'object' },
      triggers: TRIGGERS_SCHEMA,
      settings: {
        type: 'object',
        additionalProperties: false,
        properties: { retention: { type: ['string', 'number'] } },
      },
      nodes: {
        type: 'object',
        minProperties: 1,
        propertyNames: { pattern: NAME },
        additionalProperties: {
          type: 'object',
          required: ['type'],
          properties: { type: { enum: registry.all().map((t) => t.type) } },
          allOf: nodeSchemas,
        },
      },
    },
  };
}
