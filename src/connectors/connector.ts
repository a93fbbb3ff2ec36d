import type { NodeType } from '../engine/node-type.ts';

/**
 * A service Conveyor talks to (Bitrix24, Telegram…): its node types, what a connection to it needs,
 * and how fast it may be called. Connectors plug in through the node registry like any node type;
 * the engine knows only the pace and the connection names they declare.
 */
export interface Connector {
  /** Folder and node-type prefix, e.g. `bitrix24` (node types are `bitrix24.lead.add`…). */
  name: string;
  description: string;
  /**
   * JSON Schema of one connection's settings, credentials included (webhook URL, tokens, rate).
   * Validated when a connection is saved; errors name the field.
   */
  settingsSchema: Record<string, unknown>;
  /** Settings fields that are credentials: encrypted at rest, never shown by the API or logs. */
  secretFields: string[];
  /** Calls per second and burst one connection may make unless its settings say `rate` / `burst`. */
  pace: Pace;
  nodeTypes: NodeType[];
}

export interface Pace {
  /** Sustained calls per second. */
  perSecond: number;
  /** Calls that may go at once after a quiet spell (a leaky bucket's size). */
  burst: number;
}

/** A project's named connection to a service, with its credentials decrypted (in memory only). */
export interface Connection {
  name: string;
  connector: string;
  settings: Record<string, unknown>;
}

/** What node code may do with the project's connections. */
export interface ConnectionAccess {
  /** The connection `name` of `connector`; throws an Error naming both when it is missing. */
  get(connector: string, name: string): Connection;
  /**
   * Saves changed settings (a refreshed OAuth token) durably, encrypted; later `get`s see them.
   * Only fields named in the patch change.
   */
  update(connector: string, name: string, patch: Record<string, unknown>): Promise<void>;
}
