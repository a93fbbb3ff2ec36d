import type { HttpClient } from '../../util/http-client.ts';
import type { Exchange } from '../service-failure.ts';

/**
 * An SMS provider behind the `sms` connector. Each gateway is one file that speaks its provider's API
 * and classifies its provider's error codes into ServiceFailures (thrown); the nodes stay the same.
 */
export interface SmsGateway {
  /** Sends one message to one phone; resolves to the provider's message id. */
  send(to: string, text: string, opts: SmsSendOptions): Promise<SmsSent>;
  /** Where the message is now. */
  status(id: string, opts: { timeoutMs: number }): Promise<SmsStatus>;
}

export interface SmsSendOptions {
  /** Sender name (must be approved at the provider); the provider's default when absent. */
  from?: string;
  /** Provider's test mode: accepted and billed as zero, never delivered. */
  test?: boolean;
  timeoutMs: number;
}

export interface SmsSent {
  smsId: string;
  exchange: Exchange;
}

export interface SmsStatus {
  /** The provider's own status code (SMS.ru: 100–108, 110, 150). */
  code: number;
  text?: string;
  delivered: boolean;
  /** No further change is expected (delivered or given up). */
  final: boolean;
  exchange: Exchange;
}

/** Builds a gateway from a connection's settings (credentials decrypted). */
export type SmsGatewayFactory = (settings: Record<string, unknown>, http: HttpClient) => SmsGateway;
