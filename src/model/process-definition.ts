/**
 * A process as users write it (YAML or JSON): named nodes with typed parameters and outgoing edges.
 * Node-specific parameters sit beside `type` on the node itself, so a file reads like the diagram.
 */
export interface ProcessDefinition {
  /** Unique within a project; letters, digits, `-` and `_`. */
  name: string;
  title?: string;
  description?: string;
  /** The node new tasks enter; defaults to the first node of `nodes`. */
  start?: string;
  /** Values the process's templates read as `$config.NAME` unless the project overrides them. */
  config?: Record<string, unknown>;
  settings?: ProcessSettings;
  /** Chatbot events that start a task of this process for the person (a funnel); see funnels/trigger.ts. */
  triggers?: import('../funnels/trigger.ts').TriggerDefinition[];
  /** Corezoid-compatible public id (the `conv_id` of the public URL); generated when absent. */
  public_id?: string;
  nodes: Record<string, NodeDefinition>;
}

export interface ProcessSettings {
  /** How long tasks that ended (final / error / cancelled) keep counting in stats, e.g. "7d". */
  retention?: string;
}

export interface NodeDefinition {
  type: string;
  title?: string;
  [param: string]: unknown;
}

/** A deployed, immutable version of a process. */
export interface ProcessVersion {
  name: string;
  version: number;
  definition: ProcessDefinition;
  deployedAt: number;
}
